// The node-list syntax of `qforge debug` options, as the seed's CLI writes it: "a,b", "[a,b]" (a flat
// list), and "[[a,b],[c]]" (groups). Spaces around names are ignored; names may hold any character but
// ',', '[' and ']'.
#pragma once

#include <string>
#include <vector>

namespace qf::debug {

// A flat list ("a,b" or "[a,b]"). `option` names the option in errors ("--nodes: ...").
std::vector<std::string> parse_name_list(const std::string& text, const std::string& option);

// Groups: "[[a,b],[c]]" -> {{a,b},{c}}; a flat list "[a,b]" or "a,b" -> {{a},{b}} (each name its own
// group, as the seed treats a plain list). Bad brackets, empty names or empty groups are qf::Errors
// naming the option and the text.
std::vector<std::vector<std::string>> parse_name_groups(const std::string& text, const std::string& option);

}  // namespace qf::debug
