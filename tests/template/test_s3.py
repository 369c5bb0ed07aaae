"""The S3 remote, for real, through moto's S3 API server on 127.0.0.1."""

import shutil
import subprocess

import boto3
import pytest

from .project import EXIT, bake, sha256, weightline
from .story import add_origin, remote_tags, remove_dvc_data, train_and_commit

pytestmark = pytest.mark.slow
BUCKET = "weights"


@pytest.fixture
def s3_endpoint(moto_port: int) -> str:
    return f"http://127.0.0.1:{moto_port}"


@pytest.fixture
def s3_credentials(aws_credentials, s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_s3_push_get_checkout_pull(cookies, tmp_path, s3_endpoint, s3_credentials):
    project = bake(
        cookies, tmp_path, dvc_remote=f"s3://{BUCKET}/tumour", s3_endpoint_url=s3_endpoint
    )
    out = train_and_commit(project, "Train the first model")
    assert "registered model@v1.0.0" in out
    expected = sha256(project.weights)

    origin = add_origin(project, tmp_path)
    weightline(project, "push")
    assert remote_tags(origin) == ["model@v1.0.0"]
    keys = [o["Key"] for o in s3_credentials.list_objects_v2(Bucket=BUCKET)["Contents"]]
    md5 = project.dvc("config", "core.remote").stdout  # the remote is in use ...
    assert md5 and any(key.startswith("tumour/files/md5/") for key in keys)

    remove_dvc_data(project)
    deploy = tmp_path / "deploy"
    weightline(project, "get", "v1.0.0", "-o", str(deploy))
    assert sha256(deploy / "model.safetensors") == expected
    project.git("checkout", "--quiet", "model@v1.0.0")
    project.dvc("pull")
    assert sha256(project.weights) == expected
    assert "ok" in weightline(project, "verify", "--all").stdout

    # Credentials never landed in a tracked file.
    tracked = project.git("grep", "-l", "weightline-secret", check=False)
    assert tracked == ""


def test_s3_without_credentials_fails_clearly(cookies, tmp_path, s3_endpoint, monkeypatch):
    project = bake(
        cookies, tmp_path, dvc_remote=f"s3://{BUCKET}/tumour", s3_endpoint_url=s3_endpoint
    )
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    train_and_commit(project, "Train")
    shutil.rmtree(project.path / ".dvc/cache")  # a deploy machine: only the remote has them
    done = subprocess.run(
        ["python", "-m", "weightline", "get", "v1.0.0", "-o", str(tmp_path / "out")],
        cwd=project.path,
        env=project.env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == EXIT["RemoteUnavailable"]
    assert "credentials" in done.stderr, done.stderr
    assert not any((tmp_path / "out").glob("*.safetensors"))
