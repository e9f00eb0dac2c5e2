"""Remote implementations of the apps' interfaces: `grpc_api.clients.<app>.Client(target)`."""
