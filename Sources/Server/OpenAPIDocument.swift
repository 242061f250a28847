/// The API description served at `/openapi.yaml`; generated from `openapi.yaml` at the
/// repository root by `tools/gen-openapi` (a test checks the two are the same).
enum OpenAPIDocument {
    static let yaml = """
        openapi: 3.1.0
        """
}
