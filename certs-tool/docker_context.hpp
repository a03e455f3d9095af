#pragma once
// The file `docker context import NAME FILE` reads: the tar stream `docker context export`
// writes (docker/cli cli/context/store/store.go, Export): meta.json with the context's
// metadata and docker endpoint, then tls/docker/{ca.pem,cert.pem,key.pem}.

#include <chrono>
#include <string>
#include <string_view>

namespace dockgate::certs {

/// "" if the docker CLI accepts `name` as a context name (^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$, not
/// "default"), else why not.
std::string check_context_name(std::string_view name);

/// "" if `host` is a tcp://HOST[:PORT] endpoint, else why not.
std::string check_context_host(std::string_view host);

struct docker_context_files {
    std::string name;
    std::string description;
    std::string host;
    std::string ca_pem;
    std::string cert_pem;
    std::string key_pem;
};

/// The archive bytes (POSIX ustar). It holds the private key: write it 0600.
std::string docker_context_archive(docker_context_files const& files,
                                   std::chrono::system_clock::time_point mtime);

} // namespace dockgate::certs
