// SPDX-License-Identifier: MIT
// The C++ quick start from README.md: store, read, batch, count.
// Usage: quick_start [server]   (default 127.0.0.1:11211)
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <fastmc/client.hpp>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const std::string server = argc > 1 ? argv[1] : "127.0.0.1:11211";
  fastmc::Client mc({.servers = {server}, .timeout = 500ms});

  if (auto stored = mc.set("greeting", "hello", {.ttl = 60}); !stored) {
    std::cerr << "set failed: " << stored.error().message << '\n';
    return 1;
  }
  auto item = mc.get("greeting");  // Result<std::optional<Item>>
  if (!item || !*item) {
    std::cerr << "get failed\n";
    return 1;
  }
  std::cout << "greeting = " << (*item)->value << '\n';

  const std::vector<fastmc::Entry> entries = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  if (auto failed = mc.set_many(entries); !failed || !failed->empty()) return 1;
  const std::string_view keys[] = {"a", "b", "c", "missing"};
  auto items = mc.get_many(keys);
  if (!items) return 1;
  std::cout << "get_many found " << items->size() << " of 4 keys\n";

  if (!mc.set("visits", "0")) return 1;
  auto visits = mc.incr("visits", 5);
  if (!visits || !*visits) return 1;
  std::cout << "visits = " << **visits << '\n';
  return **visits == 5 ? 0 : 1;
}
