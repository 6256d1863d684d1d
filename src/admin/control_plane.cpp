#include "admin/control_plane.hpp"

#include "io/endpoint_text.hpp"
#include "logging/log.hpp"

namespace hubgate::admin {

control_plane::control_plane(const cli::serve_options& options, const server::proxy_state& proxy,
                             reload::rules_in_force& rules, metrics::proxy_metrics& metrics, audit::trail* audit) {
  if (options.admin_enabled) {
    admin_ = std::make_unique<admin_server>(admin_thread_.ioc, options.admin_host, options.admin_port,
                                            sources{proxy, rules, metrics, audit, std::chrono::system_clock::now(),
                                                    options.admin_hosts});
  }
  watcher_ = std::make_unique<reload::watcher>(reload_thread_.ioc, rules, metrics, proxy.sinks.clients, options.rules_file,
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
    logging::info("admin listening", {{"address", io::endpoint_text(local)}});
    admin_->start();
  } else {
    logging::info("admin listener off");
  }
  watcher_->start();
  admin_thread_.start();
  reload_thread_.start();
}

void control_plane::stop() {
  admin_thread_.stop();
  reload_thread_.stop();
}

void control_plane::worker::start() {
  thread = std::thread([this] {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        logging::error("control plane error", {{"reason", e.what()}});
      }
    }
  });
}

void control_plane::worker::stop() {
  ioc.stop();
  if (thread.joinable()) {
    thread.join();
  }
}

} // namespace hubgate::admin
