#include "gateway/ssh/dial_stdio.hpp"

#include <vector>

namespace dockgate::ssh {

bool is_dial_stdio(std::string const& command) {
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < command.size()) {
        auto const start = command.find_first_not_of(' ', at);
        if (start == std::string::npos)
            break;
        auto const end = command.find(' ', start);
        words.push_back(
            command.substr(start, end == std::string::npos ? std::string::npos : end - start));
        at = end == std::string::npos ? command.size() : end;
    }
    auto is_host = [](std::string const& w) {
        return w.rfind("unix:///", 0) == 0 && w.size() < 4096;
    };
    if (words == std::vector<std::string>{"docker", "system", "dial-stdio"})
        return true;
    if (words.size() == 5 && words[0] == "docker" && (words[1] == "--host" || words[1] == "-H") &&
        is_host(words[2]) && words[3] == "system" && words[4] == "dial-stdio")
        return true;
    return words.size() == 4 && words[0] == "docker" && words[1].rfind("--host=", 0) == 0 &&
           is_host(words[1].substr(7)) && words[2] == "system" && words[3] == "dial-stdio";
}

} // namespace dockgate::ssh
