// SPDX-License-Identifier: MIT
#include "ssl_context_binding.hpp"

#include <cstdint>
#include <link.h>
#include <set>
#include <string>
#include <string_view>

#include <nanobind/stl/string.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

namespace nb = nanobind;

namespace fastmc::python {
namespace {

[[noreturn]] void refuse(const std::string& why) {
  throw nb::value_error(("tls_context cannot be shared with fastmc: " + why).c_str());
}

// The distinct libssl shared objects loaded in the process.
std::set<std::string> loaded_libssl() {
  std::set<std::string> found;
  ::dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        const std::string_view path = info->dlpi_name != nullptr ? info->dlpi_name : "";
        const auto slash = path.rfind('/');
        const std::string_view file =
            slash == std::string_view::npos ? path : path.substr(slash + 1);
        if (file.starts_with("libssl.so")) static_cast<std::set<std::string>*>(data)->emplace(file);
        return 0;
      },
      &found);
  return found;
}

}  // namespace

SharedSslContext shared_ssl_context(nb::handle context) {
  nb::module_ ssl = nb::module_::import_("ssl");
  if (!nb::isinstance(context, ssl.attr("SSLContext"))) {
    throw nb::type_error("tls_context must be an ssl.SSLContext");
  }
  const auto python_version = nb::cast<unsigned long>(ssl.attr("OPENSSL_VERSION_NUMBER"));
  if (python_version != OpenSSL_version_num()) {
    refuse("Python's ssl module uses OpenSSL " +
           nb::cast<std::string>(ssl.attr("OPENSSL_VERSION")) + ", fastmc " +
           OpenSSL_version(OPENSSL_VERSION) + "; pass tls_ca_file etc. instead");
  }
  if (loaded_libssl().size() != 1) {
    refuse("more than one libssl is loaded; pass tls_ca_file etc. instead");
  }
  if (!context.attr("keylog_filename").is_none() ||
      (nb::hasattr(context, "_msg_callback") && !context.attr("_msg_callback").is_none())) {
    refuse("its keylog_filename or _msg_callback would call into Python during handshakes");
  }
  // _ssl.c: typedef struct { PyObject_HEAD SSL_CTX *ctx; ... } PySSLContext;
  SSL_CTX* ctx =
      *reinterpret_cast<SSL_CTX**>(reinterpret_cast<char*>(context.ptr()) + sizeof(PyObject));
  if (ctx == nullptr) refuse("it holds no OpenSSL context");
  const std::uint64_t options = SSL_CTX_get_options(ctx);
  const int verify_mode = SSL_CTX_get_verify_mode(ctx);
  // ssl.CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED as _ssl.c sets them.
  const int python_mode = nb::cast<int>(context.attr("verify_mode"));
  const int expected_mode = python_mode == 0   ? SSL_VERIFY_NONE
                            : python_mode == 1 ? SSL_VERIFY_PEER
                                               : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  if (options != nb::cast<std::uint64_t>(context.attr("options")) || verify_mode != expected_mode) {
    refuse("the OpenSSL context found in it does not match its settings (unknown layout)");
  }
  return SharedSslContext{ctx, nb::cast<bool>(context.attr("check_hostname"))};
}

}  // namespace fastmc::python
