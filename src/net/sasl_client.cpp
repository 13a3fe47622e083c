// SPDX-License-Identifier: MIT
#include "net/sasl_client.hpp"

#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include <sasl/sasl.h>

namespace fastmc::net {
namespace {

// Cyrus's own mutex hooks do nothing unless the application installs some;
// a client shared by threads authenticates connections concurrently.
void* allocate_mutex() { return new std::mutex; }
int lock_mutex(void* mutex) {
  static_cast<std::mutex*>(mutex)->lock();
  return SASL_OK;
}
int unlock_mutex(void* mutex) {
  static_cast<std::mutex*>(mutex)->unlock();
  return SASL_OK;
}
void free_mutex(void* mutex) { delete static_cast<std::mutex*>(mutex); }

// sasl_client_init once per process; its result is kept for every caller.
int initialise_cyrus() {
  static const int kResult = [] {
    sasl_set_mutex(&allocate_mutex, &lock_mutex, &unlock_mutex, &free_mutex);
    return sasl_client_init(nullptr);
  }();
  return kResult;
}

// Cyrus keeps callbacks as `int (*)(void)`; casting through `void (*)()` is
// the documented way to store a function of another type.
template <class Function>
int (*as_callback(Function* function))() {
  return reinterpret_cast<int (*)()>(reinterpret_cast<void (*)()>(function));
}

}  // namespace

struct SaslClient::Session {
  std::string username;
  std::vector<unsigned char> secret;  // a sasl_secret_t: length, then the password
  std::string server_host;
  sasl_conn_t* connection = nullptr;
  std::array<sasl_callback_t, 4> callbacks = {};

  ~Session() {
    if (connection != nullptr) sasl_dispose(&connection);
  }

  static int user_name(void* context, int id, const char** result, unsigned* length) {
    if (id != SASL_CB_USER && id != SASL_CB_AUTHNAME) return SASL_BADPARAM;
    const auto* session = static_cast<const Session*>(context);
    *result = session->username.c_str();
    if (length != nullptr) *length = static_cast<unsigned>(session->username.size());
    return SASL_OK;
  }

  static int password(sasl_conn_t*, void* context, int id, sasl_secret_t** secret) {
    if (id != SASL_CB_PASS) return SASL_BADPARAM;
    *secret = reinterpret_cast<sasl_secret_t*>(static_cast<Session*>(context)->secret.data());
    return SASL_OK;
  }
};

SaslClient::SaslClient(std::string username, std::string password, std::string server_host)
    : session_(std::make_unique<Session>()) {
  session_->username = std::move(username);
  session_->server_host = std::move(server_host);
  // sasl_secret_t is an unsigned long length followed by the bytes; Cyrus
  // reads `len` bytes (plus a terminating NUL some mechanisms expect).
  session_->secret.resize(sizeof(sasl_secret_t) + password.size() + 1);
  auto* secret = reinterpret_cast<sasl_secret_t*>(session_->secret.data());
  secret->len = password.size();
  std::memcpy(secret->data, password.data(), password.size());
  session_->callbacks[0] = {SASL_CB_USER, as_callback(&Session::user_name), session_.get()};
  session_->callbacks[1] = {SASL_CB_AUTHNAME, as_callback(&Session::user_name), session_.get()};
  session_->callbacks[2] = {SASL_CB_PASS, as_callback(&Session::password), session_.get()};
  session_->callbacks[3] = {SASL_CB_LIST_END, nullptr, nullptr};
}

SaslClient::~SaslClient() = default;

bool SaslClient::start(std::string_view server_mechanisms) {
  const int initialised = initialise_cyrus();
  if (initialised != SASL_OK) {
    problem_ = std::string("Cyrus SASL failed to initialise: ") +
               sasl_errstring(initialised, nullptr, nullptr);
    return false;
  }
  int result = sasl_client_new("memcached", session_->server_host.c_str(), nullptr, nullptr,
                               session_->callbacks.data(), 0, &session_->connection);
  if (result != SASL_OK) {
    problem_ = std::string("Cyrus SASL: ") + sasl_errstring(result, nullptr, nullptr);
    return false;
  }
  const std::string mechanisms(server_mechanisms);
  const char* output = nullptr;
  unsigned output_size = 0;
  const char* chosen = nullptr;
  result = sasl_client_start(session_->connection, mechanisms.c_str(), nullptr, &output,
                             &output_size, &chosen);
  if (result != SASL_OK && result != SASL_CONTINUE) {
    problem_ = "no SASL mechanism usable with the server's \"" + mechanisms +
               "\": " + sasl_errdetail(session_->connection);
    return false;
  }
  mechanism_ = chosen != nullptr ? chosen : "";
  message_ = std::string_view(output != nullptr ? output : "", output_size);
  return true;
}

bool SaslClient::step(std::string_view challenge) {
  const char* output = nullptr;
  unsigned output_size = 0;
  const int result =
      sasl_client_step(session_->connection, challenge.data(),
                       static_cast<unsigned>(challenge.size()), nullptr, &output, &output_size);
  if (result != SASL_OK && result != SASL_CONTINUE) {
    problem_ = std::string("SASL step refused: ") + sasl_errdetail(session_->connection);
    return false;
  }
  message_ = std::string_view(output != nullptr ? output : "", output_size);
  return true;
}

}  // namespace fastmc::net
