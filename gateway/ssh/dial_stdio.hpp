#pragma once

#include <string>

namespace dockgate::ssh {

/// Whether an exec request is the docker CLI's (or docker-py's) `docker system dial-stdio`,
/// in the forms they send (checked against CLI 20.10 and 28, docker-py 5):
///   docker system dial-stdio
///   docker --host unix:///path/docker.sock system dial-stdio   (ssh://user@host/path URLs)
bool is_dial_stdio(std::string const& command);

} // namespace dockgate::ssh
