import Hummingbird
import Logging

/// The request context of the API: who is calling (the key, once authenticated).
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated key; nil on public routes.
    public var key: APIKeyRecord?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Bodies are read through ``RequestBody`` with the service's own limits.
    public var maxUploadSize: Int { 64 << 20 }

    /// The authenticated tenant (routes behind ``AuthMiddleware`` always have one).
    func tenant() throws -> String {
        guard let key else { throw Problem.unauthorized }
        return key.tenant
    }

    /// Refuses a key whose scope does not allow `scope`.
    func require(_ scope: KeyScope) throws -> APIKeyRecord {
        guard let key else { throw Problem.unauthorized }
        guard key.scope.allows(scope) else {
            throw Problem.forbidden(
                "this route needs an \(scope.rawValue) key; this key's scope is \(key.scope.rawValue)")
        }
        return key
    }
}
