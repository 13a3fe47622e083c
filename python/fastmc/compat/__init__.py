# SPDX-License-Identifier: MIT
"""Drop-in modules for code written against other memcached clients."""
