#include "admin/control_plane.hpp"

#include "logging/log.hpp"

namespace hubgate::admin {

control_plane::control_plane(const cli::serve_options& options, const server::proxy_state& proxy,
                             reload::rules_in_force& rules, metrics::proxy_metrics& metrics, audit::trail* audit) {
  if (options.admin_enabled) {
    admin_ = std::make_unique<admin_server>(ioc_, options.admin_host, options.admin_port,
                                            sources{proxy, rules, metrics, audit, std::chrono::system_clock::now(),
                                                    options.admin_hosts});
  }
  watcher_ = std::make_unique<reload::watcher>(ioc_, rules, metrics, proxy.sinks.clients, options.rules_file,
                                               options.watch_rules, [audit] {
    if (audit != nullptr) {
      audit->reopen();
    }
  });
}

control_plane::~control_plane() {
  stop();
}

void control_plane::start() {
  if (admin_) {
    const auto local = admin_->local_endpoint();
    logging::info("admin listening", {{"address", local.address().to_string() + ":" + std::to_string(local.port())}});
    admin_->start();
  } else {
    logging::info("admin listener off");
  }
  watcher_->start();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        logging::error("control plane error", {{"reason", e.what()}});
      }
    }
  });
}

void control_plane::stop() {
  ioc_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

} // namespace hubgate::admin
