"""A local stand-in for the Hugging Face Hub on 127.0.0.1, serving repos the way huggingface_hub expects.

Endpoints (those snapshot_download / hf_hub_download / list_repo_files call):
  GET       /api/models/{repo}/revision/{rev}     -> {"id", "sha", "siblings"}
  GET       /api/models/{repo}/tree/{rev}          -> [{"type": "file", "path", "size", "oid", "lfs"?}]
  HEAD/GET  /{repo}/resolve/{rev}/{path}           -> the file, with X-Repo-Commit, ETag (sha256 for LFS files,
                                                      git blob sha1 otherwise), X-Linked-Etag / X-Linked-Size
Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound) as the Hub does.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    """Repos as {repo_id: {"refs": {branch: sha}, "commits": {sha: {path: bytes}}}}; counts every request."""

    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.requests: Counter[str] = Counter()  # "GET /path" -> count
        self.missing_on_server: set[tuple[str, str]] = set()  # (repo, path) listed in the tree but 404 on resolve
        self._server: ThreadingHTTPServer | None = None

    # ---- repo content ----
    def add_commit(self, repo_id: str, files: dict[str, bytes], branch: str = "main") -> str:
        """Add a commit holding exactly `files`; the branch moves to it. Returns the 40-hex commit sha."""
        repo = self.repos.setdefault(repo_id, {"refs": {}, "commits": {}})
        digest = hashlib.sha1(repo_id.encode())
        for path in sorted(files):
            digest.update(path.encode() + hashlib.sha256(files[path]).digest())
        digest.update(str(len(repo["commits"])).encode())
        sha = digest.hexdigest()
        repo["commits"][sha] = dict(files)
        repo["refs"][branch] = sha
        return sha

    def add_folder(self, repo_id: str, folder: Path, branch: str = "main") -> str:
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_commit(repo_id, files, branch)

    def _resolve(self, repo_id: str, rev: str):
        repo = self.repos.get(repo_id)
        if repo is None:
            return None, None, "RepoNotFound"
        sha = repo["refs"].get(rev, rev if rev in repo["commits"] else None)
        if sha is None:
            return None, None, "RevisionNotFound"
        return sha, repo["commits"][sha], None

    # ---- server ----
    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_HEAD(self):
                hub._handle(self, head=True)

            def do_GET(self):
                hub._handle(self, head=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, req: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlsplit(req.path).path)
        self.requests[f"{req.command} {path}"] += 1
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("revision", "tree"):
            repo_id, kind, rev = "/".join(parts[2:4]), parts[4], "/".join(parts[5:])
            sha, files, error = self._resolve(repo_id, rev)
            if error:
                return self._error(req, 404, error, head)
            if kind == "revision":
                body = {"id": repo_id, "modelId": repo_id, "sha": sha, "private": False,
                        "siblings": [{"rfilename": p} for p in sorted(files)]}  # fmt: skip
            else:
                body = [self._tree_entry(p, data) for p, data in sorted(files.items())]
            return self._send(req, 200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head)
        if len(parts) >= 5 and parts[2] == "resolve":
            repo_id, rev, file_path = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            sha, files, error = self._resolve(repo_id, rev)
            if error:
                return self._error(req, 404, error, head)
            if file_path not in files or (repo_id, file_path) in self.missing_on_server:
                return self._error(req, 404, "EntryNotFound", head, {"X-Repo-Commit": sha})
            data = files[file_path]
            headers = {"X-Repo-Commit": sha, "Content-Type": "application/octet-stream"}
            if file_path.endswith(LFS_SUFFIXES):
                sha256 = hashlib.sha256(data).hexdigest()
                headers.update({"ETag": f'"{sha256}"', "X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": str(len(data))})
            else:
                headers["ETag"] = f'"{git_blob_sha1(data)}"'
            return self._send(req, 200, data, headers, head)
        return self._error(req, 404, "RepoNotFound", head)

    @staticmethod
    def _tree_entry(path: str, data: bytes) -> dict:
        entry = {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha1(data)}
        if path.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    @staticmethod
    def _send(req, status: int, body: bytes, headers: dict, head: bool) -> None:
        req.send_response(status)
        for key, value in headers.items():
            req.send_header(key, value)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if not head:
            req.wfile.write(body)

    def _error(self, req, status: int, code: str, head: bool, extra: dict | None = None) -> None:
        body = json.dumps({"error": f"{code}"}).encode()
        headers = {"X-Error-Code": code, "X-Error-Message": code, "Content-Type": "application/json", **(extra or {})}
        self._send(req, status, body, headers, head)

    def count(self, method: str, fragment: str = "") -> int:
        """How many `method` requests had `fragment` in their path."""
        return sum(n for key, n in self.requests.items() if key.startswith(method + " ") and fragment in key)
