// SPDX-License-Identifier: MIT
// TLS and ASCII authentication at the Connection level, against real
// memcached started with -Z (certificates made here with the openssl command)
// and -Y.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/connection.hpp"
#include "net/tls_context.hpp"
#include "protocol/text_request.hpp"
#include "support/memcached_process.hpp"

namespace fastmc::net {
namespace {

using namespace std::chrono_literals;
using protocol::ReplyStatus;
using protocol::TextReplyKind;

// A CA and a server certificate for localhost and 127.0.0.1, made once.
class Certificates {
 public:
  static const Certificates& get() {
    static const Certificates certificates;
    return certificates;
  }
  std::string ca_file() const { return folder_ + "/ca.crt"; }
  std::string cert_file() const { return folder_ + "/server.crt"; }
  std::string key_file() const { return folder_ + "/server.key"; }

 private:
  Certificates() {
    char pattern[] = "/tmp/fastmc-tls-test-XXXXXX";
    folder_ = ::mkdtemp(pattern);
    const std::string script =
        "cd " + folder_ +
        " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext"
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout ca.key -out ca.crt -days 2 -subj /CN=ca"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        " -keyout server.key -out server.csr -subj /CN=localhost"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
        " -out server.crt -days 2 -extfile san.ext) >/dev/null 2>&1";
    if (std::system(("(" + script).c_str()) != 0) {
      throw std::runtime_error("cannot make test certificates with the openssl command");
    }
  }
  ~Certificates() { std::system(("rm -rf " + folder_).c_str()); }
  std::string folder_;
};

testing::MemcachedProcess tls_server(std::vector<std::string> more_args = {}) {
  const Certificates& certificates = Certificates::get();
  std::vector<std::string> args = {
      "-Z", "-o",
      "ssl_chain_cert=" + certificates.cert_file() + ",ssl_key=" + certificates.key_file()};
  args.insert(args.end(), more_args.begin(), more_args.end());
  return testing::MemcachedProcess({.tcp = true, .extra_args = args});
}

Address localhost(const testing::MemcachedProcess& server) {
  std::string problem;
  Address address = parse_address(server.address(), problem).value();
  address.host = "localhost";
  return address;
}

ConnectionOptions tls_options(TlsSettings settings = {}) {
  if (settings.ca_file.empty()) settings.ca_file = Certificates::get().ca_file();
  return ConnectionOptions{
      .connect_timeout = 1s, .call_timeout = 1s, .tls = TlsContext::create(settings)};
}

void append_set(Connection& connection, std::string_view key, std::string_view value) {
  protocol::append_storage_request(connection.requests(), protocol::StorageCommand::set, key, 0, 0,
                                   value, 0, false);
  connection.expect(TextReplyKind::storage);
}

void append_get(Connection& connection, std::string_view key) {
  const std::string_view keys[] = {key};
  protocol::append_retrieval_request(connection.requests(), protocol::RetrievalCommand::get, 0,
                                     keys);
  connection.expect(TextReplyKind::retrieval);
}

TEST(TlsContextTest, BadSettingsAreRefusedWithTheirName) {
  EXPECT_THROW(
      {
        try {
          TlsContext::create({.ca_file = "/nonexistent/ca.pem"});
        } catch (const std::invalid_argument& error) {
          EXPECT_NE(std::string(error.what()).find("ca_file \"/nonexistent/ca.pem\""),
                    std::string::npos)
              << error.what();
          throw;
        }
      },
      std::invalid_argument);
  EXPECT_THROW(TlsContext::create({.min_version = "1.1"}), std::invalid_argument);
  EXPECT_THROW(TlsContext::create({.key_file = "/tmp/key.pem"}), std::invalid_argument);
  EXPECT_THROW(TlsContext::create({.cert_file = "/nonexistent/cert.pem"}), std::invalid_argument);
  EXPECT_THROW(TlsContext::create({.ciphers = "NO-SUCH-CIPHER"}), std::invalid_argument);
}

TEST(TlsConnectionTest, PipelinedRequestsAndALargeValueIntoTheSink) {
  testing::MemcachedProcess server = tls_server();
  Connection connection(localhost(server), tls_options());
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s))) << connection.failure_detail();
  EXPECT_TRUE(connection.uses_tls());
  const std::string large(700'000, 'L');
  connection.begin_exchange();
  append_set(connection, "small", "s");
  append_set(connection, "large", large);
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();

  std::string storage;
  connection.begin_exchange();
  connection.set_value_sink(ValueSink{
      .allocate =
          [](void* context, std::string_view, std::size_t size) {
            auto& target = *static_cast<std::string*>(context);
            target.resize(size);
            return std::span<char>(target.data(), size);
          },
      .context = &storage,
  });
  append_get(connection, "large");
  append_get(connection, "small");
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
  ASSERT_EQ(connection.reply_count(), 4u);
  EXPECT_EQ(connection.reply(0).data.data(), storage.data());  // straight into the sink
  EXPECT_EQ(connection.reply(0).data, large);
  EXPECT_EQ(connection.reply(2).data, "s");
}

// Runs the exchange as the engine's batch driver does: poll, then one step.
Connection::Progress run_polled(Connection& connection, Deadline deadline) {
  Connection::Progress progress = Connection::Progress::in_progress;
  while (progress == Connection::Progress::in_progress) {
    pollfd entry{connection.fd(), connection.wanted_events(), 0};
    const timespec left = deadline.remaining_timespec();
    if (::ppoll(&entry, 1, &left, nullptr) != 1) {
      ADD_FAILURE() << "stalled with replies still due";
      return progress;
    }
    progress = connection.step(entry.revents);
  }
  return progress;
}

TEST(TlsConnectionTest, PollDrivenStepsNeverMissABufferedRecord) {
  testing::MemcachedProcess server = tls_server();
  Connection connection(localhost(server), tls_options());
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  std::vector<std::string> values;
  connection.begin_exchange();
  for (int i = 0; i < 50; ++i) {
    values.push_back(
        std::string(static_cast<std::size_t>(1 + i * 997), static_cast<char>('a' + i % 26)));
    append_set(connection, "k" + std::to_string(i), values.back());
  }
  ASSERT_TRUE(connection.run(Deadline::after(2s))) << connection.failure_detail();

  // Large replies: records bigger than one read.
  connection.begin_exchange();
  for (int i = 0; i < 50; ++i) append_get(connection, "k" + std::to_string(i));
  ASSERT_EQ(run_polled(connection, Deadline::after(2s)), Connection::Progress::done)
      << connection.failure_detail();
  ASSERT_EQ(connection.reply_count(), 100u);
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ(connection.reply(2 * i).data, values[i]);

  // Many small replies: memcached answers each burst of requests in one
  // small record, and one receive takes several of them into OpenSSL's
  // read-ahead buffer, where a poll on the descriptor cannot see them.
  for (int round = 0; round < 20; ++round) {
    connection.begin_exchange();
    for (int i = 0; i < 400; ++i) append_get(connection, "k0");
    ASSERT_EQ(run_polled(connection, Deadline::after(2s)), Connection::Progress::done)
        << connection.failure_detail();
    ASSERT_EQ(connection.reply_count(), 800u);
  }
}

TEST(TlsConnectionTest, AnUnknownCaFailsTheConnect) {
  testing::MemcachedProcess server = tls_server();
  // The server's own certificate is no CA: nothing signed by a trusted CA.
  Connection connection(localhost(server),
                        tls_options({.ca_file = Certificates::get().cert_file()}));
  EXPECT_FALSE(connection.ensure_open(Deadline::after(1s)));
  EXPECT_EQ(connection.failure(), ConnectionFailure::tls_failed);
  EXPECT_NE(connection.failure_detail().find("certificate verification failed"), std::string::npos)
      << connection.failure_detail();
  EXPECT_FALSE(connection.is_open());
}

TEST(TlsConnectionTest, APlaintextServerIsNamedAsSuch) {
  testing::MemcachedProcess server({.tcp = true});
  Connection connection(localhost(server), tls_options());
  EXPECT_FALSE(connection.ensure_open(Deadline::after(1s)));
  EXPECT_EQ(connection.failure(), ConnectionFailure::tls_failed);
  EXPECT_NE(connection.failure_detail().find("does not speak TLS"), std::string::npos)
      << connection.failure_detail();
}

class AsciiAuthTest : public ::testing::Test {
 protected:
  AsciiAuthTest() {
    char pattern[] = "/tmp/fastmc-auth-test-XXXXXX";
    folder_ = ::mkdtemp(pattern);
    std::ofstream(folder_ + "/auth") << "alice:secret\n";
  }
  ~AsciiAuthTest() override { std::system(("rm -rf " + folder_).c_str()); }

  testing::MemcachedProcess server() {
    return testing::MemcachedProcess({.extra_args = {"-Y", folder_ + "/auth"}});
  }
  static ConnectionOptions credentials(std::string username, std::string password) {
    return ConnectionOptions{.connect_timeout = 1s,
                             .call_timeout = 1s,
                             .authentication = ConnectionOptions::Authentication::ascii,
                             .username = std::move(username),
                             .password = std::move(password)};
  }
  static Address address_of(const testing::MemcachedProcess& process) {
    std::string problem;
    return parse_address(process.address(), problem).value();
  }

  std::string folder_;
};

TEST_F(AsciiAuthTest, GoodCredentialsOpenAFreshConnection) {
  testing::MemcachedProcess process = server();
  Connection connection(address_of(process), credentials("alice", "secret"));
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s))) << connection.failure_detail();
  EXPECT_EQ(connection.exchanges_served(), 0u);  // the auth exchange does not count
  connection.begin_exchange();
  append_set(connection, "k", "v");
  append_get(connection, "k");
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
  EXPECT_EQ(connection.reply(1).data, "v");
}

TEST_F(AsciiAuthTest, AWrongPasswordFailsTheConnect) {
  testing::MemcachedProcess process = server();
  Connection connection(address_of(process), credentials("alice", "wrong"));
  EXPECT_FALSE(connection.ensure_open(Deadline::after(1s)));
  EXPECT_EQ(connection.failure(), ConnectionFailure::auth_failed);
  EXPECT_FALSE(connection.is_open());
}

TEST_F(AsciiAuthTest, NoCredentialsIsAnAuthFailureNotAReply) {
  testing::MemcachedProcess process = server();
  Connection connection(address_of(process),
                        ConnectionOptions{.connect_timeout = 1s, .call_timeout = 1s});
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  connection.begin_exchange();
  append_get(connection, "k");
  EXPECT_FALSE(connection.run(Deadline::after(1s)));
  EXPECT_EQ(connection.failure(), ConnectionFailure::auth_failed);
  EXPECT_NE(connection.failure_detail().find("requires authentication"), std::string::npos);
}

}  // namespace
}  // namespace fastmc::net
