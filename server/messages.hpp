// The routing routes of the server: POST /v1/messages (validate, journal, route), POST /v1/replay
// and POST /v1/requeue (the DIP's MessageRequest body). They run on a worker like the checks.
#pragma once

#include <functional>

#include "flowguard/routing/router.hpp"
#include "service.hpp"

namespace flowguard::server {

// Answers through `reply`: at once when the batch is refused before the journal, else from the
// journal's committer thread once the batch is durable (the worker does not wait for the fsync).
void handle_messages(const HttpRequest& request, Generation& generation, unsigned worker, Metrics& metrics, DecisionLog* log,
                     routing::Router& router, std::function<void(HttpResponse)> reply);
// requeue false: /v1/replay (answers the matching messages, a DIPMessageEgressArray, and with
// ?redeliver=SINK queues them to that sink again); true: /v1/requeue (Failed and DeadLettered
// deliveries go back to their sinks).
HttpResponse handle_replay(const HttpRequest& request, routing::Router& router, bool requeue);

}  // namespace flowguard::server
