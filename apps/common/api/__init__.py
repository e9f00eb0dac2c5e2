"""The conventions every app's HTTP API follows: typed domain errors that cross REST and gRPC
(`errors`) and their problem+json rendering (`problems`), the OpenAPI document's shared parts
(`openapi`), pagination, permissions, the strict JSON parser, throttles, middleware at the HTTP
boundary (`http`) and the landing pages (`index`). The contract they implement: docs/api.md.
"""
