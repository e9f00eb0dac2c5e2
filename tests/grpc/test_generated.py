from grpc_api.generate import GEN_DIR, generate


def test_committed_stubs_are_what_the_protos_generate(tmp_path):
    """If this fails, run `make protos` and commit grpc_api/gen/."""
    regenerated = {path.name: path.read_text() for path in generate(tmp_path)}
    committed = {path.name: path.read_text() for path in GEN_DIR.iterdir() if path.is_file()}
    assert regenerated.keys() == committed.keys()
    for name, text in regenerated.items():
        assert committed[name] == text, f"grpc_api/gen/{name} is stale"
