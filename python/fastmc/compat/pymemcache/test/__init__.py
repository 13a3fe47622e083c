# SPDX-License-Identifier: MIT
"""pymemcache.test for fastmc: the testing utilities pymemcache makes public."""
