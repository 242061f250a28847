import Foundation
import Hummingbird
import Metering

/// A tenant's webhook endpoints (admin): add, list, remove, rotate the secret, enable or disable,
/// the delivery log and manual replay.
struct WebhookRoutes {
    let service: CascadeService

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("webhooks", use: list)
        group.post("webhooks", use: add)
        group.delete("webhooks/{endpoint_id}", use: remove)
        group.post("webhooks/{endpoint_id}/rotate-secret", use: rotate)
        group.post("webhooks/{endpoint_id}/enable", use: enable)
        group.post("webhooks/{endpoint_id}/disable", use: disable)
        group.get("webhooks/{endpoint_id}/deliveries", use: deliveries)
        group.post("webhooks/{endpoint_id}/deliveries/{event_id}/replay", use: replay)
    }

    @Sendable func list(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let endpoints = try await service.webhooks.endpoints(tenant: key.tenant)
        return JSONResponse(["webhooks": .array(try endpoints.map { try JSONValue.encoding($0) })])
    }

    @Sendable func add(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["url", "events", "description"])
        guard let url = try body.string("url", required: true) else {
            throw Problem.unprocessable("\"url\" is required")
        }
        let events: [WebhookEventType]
        do {
            events = try WebhookEventType.parseList((try body.strings("events") ?? []).joined(separator: ","))
        } catch let error as LedgerError {
            throw Problem.unprocessable("\"events\": \(error.description)")
        }
        try WebhookEndpoint.check(url: url, description: try body.string("description"))
        do {
            try service.configuration.webhookAddressPolicy.checkConfigured(url)
        } catch let error as WebhookPolicyError {
            throw Problem.unprocessable(error.message)
        }
        let endpoint = try await service.webhooks.addEndpoint(
            tenant: key.tenant, url: url, eventTypes: events, description: try body.string("description"),
            now: service.configuration.clock.now())
        return JSONResponse(try Self.withSecret(endpoint), status: .created)
    }

    @Sendable func remove(_ request: Request, context: APIRequestContext) async throws -> Response {
        let key = try context.require(.admin)
        try await service.webhooks.removeEndpoint(
            id: try context.pathID("endpoint_id"), tenant: key.tenant, now: service.configuration.clock.now())
        return Response(status: .noContent)
    }

    @Sendable func rotate(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let body = try await BodyReader.object(
            request, limit: service.configuration.maxBodyBytes, allowed: ["expire_previous_after_hours"],
            optional: true)
        let hours = try body.int("expire_previous_after_hours") ?? 24
        guard (0...168).contains(hours) else {
            throw Problem.unprocessable("\"expire_previous_after_hours\" is between 0 and 168")
        }
        let now = service.configuration.clock.now()
        let endpoint = try await service.webhooks.rotateSecret(
            id: try context.pathID("endpoint_id"), tenant: key.tenant,
            previousExpiresAt: now.addingTimeInterval(Double(hours) * 3600), now: now)
        return JSONResponse(try Self.withSecret(endpoint))
    }

    @Sendable func enable(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        try await setEnabled(true, context: context)
    }

    @Sendable func disable(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        try await setEnabled(false, context: context)
    }

    private func setEnabled(_ enabled: Bool, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let endpoint = try await service.webhooks.setEndpointEnabled(
            id: try context.pathID("endpoint_id"), tenant: key.tenant, enabled: enabled, reason: nil,
            now: service.configuration.clock.now())
        return JSONResponse(try JSONValue.encoding(endpoint))
    }

    @Sendable func deliveries(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        var limit = 50
        if let text = request.uri.queryParameters.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw Problem.unprocessable("limit is a whole number between 1 and 1000")
            }
            limit = value
        }
        let records = try await service.webhooks.deliveries(
            endpointID: try context.pathID("endpoint_id"), tenant: key.tenant, limit: limit)
        return JSONResponse(["deliveries": .array(try records.map { try JSONValue.encoding($0) })])
    }

    /// Queues the event for the endpoint again, due at once (the node's dispatcher sends it).
    @Sendable func replay(_ request: Request, context: APIRequestContext) async throws -> JSONResponse {
        let key = try context.require(.admin)
        let endpointID = try context.pathID("endpoint_id")
        let eventID = try context.pathID("event_id")
        _ = try await service.webhooks.replay(
            eventID: eventID, endpointID: endpointID, tenant: key.tenant, owner: "replay", lease: 0, now: Date())
        return JSONResponse(
            ["event_id": .string(eventID), "endpoint_id": .string(endpointID), "state": "pending"], status: .accepted)
    }

    /// The endpoint as listed, plus its current secret (shown when created or rotated only).
    static func withSecret(_ endpoint: WebhookEndpoint) throws -> JSONValue {
        guard case .object(var members) = try JSONValue.encoding(endpoint) else { return .null }
        members["secret"] = .string(endpoint.secrets.first?.secret)
        return .object(members)
    }
}
