import AsyncHTTPClient
import Foundation
import Metering

extension CascadeService {
    /// The client webhook deliveries go out through (never follows redirects); one per process.
    static let webhookClient = WebhookSender.makeClient()

    /// This node's dispatcher. Delivery times come from the machine's clock, not the service
    /// clock: receivers check `webhook-timestamp` against real time, and retries must come due.
    var webhookDispatcher: WebhookDispatcher {
        WebhookDispatcher(
            store: webhooks,
            sender: WebhookSender(
                client: Self.webhookClient, policy: configuration.webhookAddressPolicy,
                timeoutSeconds: configuration.webhookTimeoutSeconds),
            policy: configuration.webhookRetryPolicy, clock: .system, pollInterval: configuration.webhookPollInterval,
            logger: logger)
    }
}
