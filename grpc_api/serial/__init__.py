"""One module per app mapping its interface's types to protobuf messages and back, used by both
its servicer (`apps/<app>/grpc_servicer.py`) and its client (`grpc_api/clients/<app>.py`)."""
