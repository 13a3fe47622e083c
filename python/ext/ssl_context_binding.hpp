// SPDX-License-Identifier: MIT
// Python's ssl.SSLContext -> the OpenSSL SSL_CTX* inside it (binding), so a
// client can use a context the application built (pymemcache's tls_context):
// CA store, client certificate, ciphers and all, with nothing copied.
//
// This relies on two things CPython does not promise, both checked on every
// call, which raises TypeError (not an SSLContext) or ValueError (a check
// failed) rather than guess:
// - the process holds one libssl, used by both Python's _ssl and fastmc
//   (Debian and most Linux builds link the system libssl3 dynamically), and
//   Python was built against the same OpenSSL version as fastmc;
// - the SSL_CTX* is the first field after PyObject_HEAD of the object
//   (_ssl.c's PySSLContext, unchanged since Python 3.3); the pointer found
//   there must report the same options and verify mode as the context's
//   Python properties.
// Contexts whose callbacks re-enter Python (keylog_filename, _msg_callback)
// are refused: fastmc runs handshakes without the GIL. Requires the GIL.
#pragma once

#include <nanobind/nanobind.h>

namespace fastmc::python {

struct SharedSslContext {
  void* ssl_ctx;        // SSL_CTX*, borrowed from the Python object
  bool check_hostname;  // the context's check_hostname
};

SharedSslContext shared_ssl_context(nanobind::handle context);

}  // namespace fastmc::python
