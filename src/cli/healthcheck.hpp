#pragma once
// `hubgate healthcheck`: asks a running hubgate's admin listener `GET /healthz` over plain HTTP,
// for a container's HEALTHCHECK, which has no curl or shell to do it with.
//
// Returns 0 when the answer is 200, with one line on `out`; 1 otherwise (nothing listening, no
// answer within the timeout, another status, not HTTP), with one line on `err` saying why. The
// whole exchange, connect included, is bounded by the command's timeout.

#include "cli/options.hpp"

#include <ostream>

namespace hubgate::cli {

int run_healthcheck(const healthcheck_command& check, std::ostream& out, std::ostream& err);

} // namespace hubgate::cli
