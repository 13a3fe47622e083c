# SPDX-License-Identifier: MIT
"""pylibmc's documented examples run unchanged on fastmc.compat.pylibmc.

The examples are pylibmc's own (docs/index.rst, docs/behaviors.rst,
docs/pooling.rst and the pylibmc package docstring, with the Python 3
outputs pylibmc itself prints), run as doctests with ``pylibmc`` bound to
the real pylibmc and then to the compat module: both must pass. The only
edits are the server address ("127.0.0.1" becomes the test server's) and one
long line wrapped.
"""

from __future__ import annotations

import doctest

import pylibmc
import pytest

import fastmc.compat.pylibmc as compat

INDEX = """
>>> mc = pylibmc.Client([ADDRESS], binary=True,
...                     behaviors={"tcp_nodelay": True,
...                                "ketama": True})
>>> mc["some_key"] = "Some value"
>>> mc["some_key"]
'Some value'
>>> del mc["some_key"]
>>> "some_key" in mc
False
>>> mc.set("some_key", "Some value")
True
>>> value = mc.get("some_key")
>>> value
'Some value'
>>> mc.set("another_key", 3)
True
>>> mc.delete("another_key")
True
>>> mc.set("complex_plane=awesome", 4+3j)
True
>>> mc.get("complex_plane=awesome")
(4+3j)
>>> import fractions
>>> mc.set("structured", {"a": ("b", "c"),
...                       "a2": fractions.Fraction(1, 3)})
True
>>> mc.get("structured")
{'a': ('b', 'c'), 'a2': Fraction(1, 3)}
>>> mc.set("key", b"1")  # bytes or int is fine for incrementing, str is not
True
>>> mc.incr("key")
2
>>> mc.decr("key")
1
>>> mc.get_multi(["key", "another_key"])
{'key': b'1'}
>>> mc.set_multi({"cats": ["on acid", "furry"], "dogs": True})
[]
>>> mc.get_multi(["cats", "dogs"])
{'cats': ['on acid', 'furry'], 'dogs': 1}
>>> mc.delete_multi(["cats", "dogs", "nonextant"])
False
"""

PACKAGE_DOCSTRING = """
>>> m = pylibmc.Client([ADDRESS], binary=True)
>>> m.behaviors = {"tcp_nodelay": True, "ketama": True}
>>> mc = pylibmc.Client([ADDRESS], behaviors=m.behaviors)
>>> mc.set("some_key", "Some value")
True
>>> value = mc.get("some_key")
>>> value
'Some value'
>>> mc.set("another_key", 3)
True
>>> mc.delete("another_key")
True
>>> mc.set("key", b"1")  # bytes or int is fine for incrementing, str is not
True
>>> print(mc.incr("key"))
2
>>> print(mc.decr("key"))
1
>>> mc.get_multi(["key", "another_key"]) == {'key': b'1'}
True
>>> mc.set_multi({"cats": ["on acid", "furry"], "dogs": True})
[]
>>> mc.get_multi(["cats", "dogs"]) == {'cats': ['on acid', 'furry'], 'dogs': True}
True
>>> mc.delete_multi(["cats", "dogs", "nonextant"])
False
>>> mc.add_multi({"cats": ["on acid", "furry"], "dogs": True})
[]
>>> mc.get_multi(["cats", "dogs"]) == {'cats': ['on acid', 'furry'], 'dogs': True}
True
>>> keys_set = mc.add_multi({"cats": "not set", "dogs": "definitely not set", "bacon": "yummy"})
>>> set(keys_set) == set(['cats', 'dogs'])
True
>>> mc.get_multi(["cats", "dogs", "bacon"]) == {'cats': ['on acid', 'furry'],
...     'bacon': 'yummy', 'dogs': True}
True
>>> mc.delete_multi(["cats", "dogs", "bacon"])
True
"""

BEHAVIORS = """
>>> mc = pylibmc.Client([ADDRESS])
>>> mc.behaviors["hash"] = "crc"
>>> mc.behaviors["hash"]
'crc'
>>> mc.behaviors = {"remove_failed": 4, "retry_timeout": 10}
>>> mc.behaviors["remove_failed"], mc.behaviors["auto_eject"], mc.behaviors["retry_timeout"]
(4, 1, 10)
"""

POOLING = """
>>> mc = pylibmc.Client([ADDRESS])
>>> mc_pool = pylibmc.ClientPool(mc, 4)
>>> with mc_pool.reserve() as mc:
...     mc.set("hi", "ho")
...     mc.delete("hi")
True
True
>>> pool = pylibmc.ClientPool()
>>> pool.fill(mc, 4)
>>> with pool.reserve() as mc:
...     mc.set("hi", "ho")
...     mc.delete("hi")
True
True
>>> pool = pylibmc.ThreadMappedPool(mc)
>>> with pool.reserve() as mc:
...     mc.set("hi", "ho")
...     mc.delete("hi")
True
True
>>> pool.relinquish() is not None
True
"""

EXAMPLES = {
    "index": INDEX,
    "package_docstring": PACKAGE_DOCSTRING,
    "behaviors": BEHAVIORS,
    "pooling": POOLING,
}


def run_doctest(text: str, module, address: str) -> doctest.TestResults:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {"pylibmc": module, "ADDRESS": address}, "example", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", list(EXAMPLES))
@pytest.mark.parametrize("module", [pylibmc, compat], ids=["pylibmc", "compat"])
def test_documented_example(memcached, module, name):
    # The real pylibmc passing the same text shows the outputs are its own.
    results = run_doctest(EXAMPLES[name], module, memcached.address)
    assert results.attempted > 0
    assert results.failed == 0
