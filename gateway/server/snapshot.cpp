#include "gateway/server/runtime.hpp"

namespace dockgate::server {

snapshot::snapshot(std::shared_ptr<config::config const> c,
                   std::vector<tls::fetched_crl> const& crls)
    : cfg(std::move(c))
    , policy(*cfg)
    , tls(cfg->tls ? tls::load_tls_material(*cfg->tls, crls) : nullptr)
    , ssh(cfg->ssh ? ssh::load_ssh_material(*cfg) : nullptr) {}

std::shared_ptr<snapshot const> load_snapshot(std::filesystem::path const& file,
                                              std::vector<tls::fetched_crl> const& crls) {
    auto cfg = std::make_shared<config::config const>(config::load_config(file));
    return std::make_shared<snapshot const>(std::move(cfg), crls);
}

} // namespace dockgate::server
