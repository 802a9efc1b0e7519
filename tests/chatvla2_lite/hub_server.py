"""A local stand-in for the Hugging Face Hub on 127.0.0.1, serving repos the way huggingface_hub expects.

Downloads (what snapshot_download / hf_hub_download / list_repo_files call):
  GET       /api/models/{repo}[/revision/{rev}]   -> {"id", "sha", "siblings"}
  GET       /api/models/{repo}/tree/{rev}          -> [{"type": "file", "path", "size", "oid", "lfs"?}]
  HEAD/GET  /{repo}/resolve/{rev}/{path}           -> the file, with X-Repo-Commit, ETag (sha256 for LFS files,
                                                      git blob sha1 otherwise), X-Linked-Etag / X-Linked-Size
Uploads (what HfApi.create_repo + upload_folder call when Xet is off; all but the LFS PUT need the write token):
  POST      /api/repos/create                      -> a repo whose first commit holds .gitattributes
  POST      /api/validate-yaml                     -> the model card's metadata is accepted
  POST      /api/models/{repo}/preupload/{rev}     -> "lfs" or "regular" per file, and the oid already there
  POST      /{repo}.git/info/lfs/objects/batch     -> basic-transfer upload and verify actions (git-lfs batch API)
  PUT       /lfs-upload/{sha256}                   -> stores the object (the S3 bucket of the real Hub)
  POST      /{repo}.git/info/lfs/objects/verify    -> 200 once the object is stored
  POST      /api/models/{repo}/commit/{branch}     -> NDJSON header/file/lfsFile/deletedFile lines -> a new commit
Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound) as the Hub does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt")
WRITE_TOKEN = "hf_fakehub_write_token"
# The start of what the Hub writes into a new model repo.
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path: str) -> bool:
    """Whether the server stores `path` in LFS (by suffix, as the .gitattributes above says)."""
    return path.endswith(LFS_SUFFIXES)


class FakeHub:
    """Repos as {repo_id: {"refs": {branch: sha}, "commits": {sha: {path: bytes}}}}; counts every request."""

    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.lfs_objects: dict[str, bytes] = {}  # sha256 -> bytes, uploaded through the LFS batch API
        self.requests: Counter[str] = Counter()  # "GET /path" -> count
        self.missing_on_server: set[tuple[str, str]] = set()  # (repo, path) listed in the tree but 404 on resolve
        self.write_token = WRITE_TOKEN
        self._lock = threading.Lock()  # LFS PUTs arrive on several threads at once
        self._server: ThreadingHTTPServer | None = None

    # ---- repo content ----
    def add_commit(self, repo_id: str, files: dict[str, bytes], branch: str = "main", message: str = "") -> str:
        """Add a commit holding exactly `files`; the branch moves to it. Returns the 40-hex commit sha."""
        repo = self.repos.setdefault(repo_id, {"refs": {}, "commits": {}, "messages": {}, "private": False})
        digest = hashlib.sha1(repo_id.encode())
        for path in sorted(files):
            digest.update(path.encode() + hashlib.sha256(files[path]).digest())
        digest.update(str(len(repo["commits"])).encode())
        sha = digest.hexdigest()
        repo["commits"][sha] = dict(files)
        repo["messages"][sha] = message
        repo["refs"][branch] = sha
        return sha

    def add_folder(self, repo_id: str, folder: Path, branch: str = "main") -> str:
        files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return self.add_commit(repo_id, files, branch)

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        """The files of `repo_id` at a branch or commit."""
        return self._resolve(repo_id, rev)[1]

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

            def do_POST(self):
                hub._handle_write(self)

            def do_PUT(self):
                hub._handle_write(self)

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
        if parts[:2] == ["api", "models"] and len(parts) == 4:
            parts += ["revision", "main"]  # repo_info without a revision: the default branch
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("revision", "tree"):
            repo_id, kind, rev = "/".join(parts[2:4]), parts[4], "/".join(parts[5:])
            sha, files, error = self._resolve(repo_id, rev)
            if error:
                return self._error(req, 404, error, head)
            if kind == "revision":
                body = {
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": sha,
                    "private": self.repos[repo_id]["private"],
                    "siblings": [{"rfilename": p} for p in sorted(files)],
                }
            else:
                body = [self._tree_entry(p, data) for p, data in sorted(files.items())]
            return self._send(req, 200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head)
        if parts[:2] == ["api", "models"] and len(parts) >= 5 and parts[4] == "xet-write-token":
            # huggingface_hub 2.4 chooses Xet on the client side whenever hf_xet is installed; say what to do.
            return self._error(
                req,
                501,
                "XetNotSupported",
                head,
                message="this fake Hub has no Xet storage; set HF_HUB_DISABLE_XET=1 so uploads go through LFS",
            )
        if len(parts) >= 5 and parts[2] == "resolve":
            repo_id, rev, file_path = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            sha, files, error = self._resolve(repo_id, rev)
            if error:
                return self._error(req, 404, error, head)
            if file_path not in files or (repo_id, file_path) in self.missing_on_server:
                return self._error(req, 404, "EntryNotFound", head, {"X-Repo-Commit": sha})
            data = files[file_path]
            headers = {"X-Repo-Commit": sha, "Content-Type": "application/octet-stream"}
            if is_lfs(file_path):
                sha256 = hashlib.sha256(data).hexdigest()
                headers.update({"ETag": f'"{sha256}"', "X-Linked-Etag": f'"{sha256}"', "X-Linked-Size": str(len(data))})
            else:
                headers["ETag"] = f'"{git_blob_sha1(data)}"'
            return self._send(req, 200, data, headers, head)
        return self._error(req, 404, "RepoNotFound", head)

    @staticmethod
    def _tree_entry(path: str, data: bytes) -> dict:
        entry = {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha1(data)}
        if is_lfs(path):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    # ---- uploads ----
    def _handle_write(self, req: BaseHTTPRequestHandler) -> None:
        path = unquote(urlsplit(req.path).path)
        self.requests[f"{req.command} {path}"] += 1
        body = self._read_body(req)
        parts = path.strip("/").split("/")
        if req.command == "PUT" and parts[0] == "lfs-upload" and len(parts) == 2:
            return self._lfs_store(req, parts[1], body)  # a pre-signed storage URL: no Authorization header
        if path == "/api/validate-yaml":
            return self._json(req, 200, {"errors": [], "warnings": []})
        if req.headers.get("Authorization") != f"Bearer {self.write_token}":
            return self._error(req, 401, "Unauthorized", message="Invalid credentials in Authorization header")
        if path == "/api/repos/create":
            return self._create_repo(req, json.loads(body))
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("preupload", "commit"):
            repo_id, rev = "/".join(parts[2:4]), "/".join(parts[5:])
            if parts[4] == "preupload":
                return self._preupload(req, repo_id, rev, json.loads(body))
            return self._commit(req, repo_id, rev, [json.loads(line) for line in body.splitlines() if line.strip()])
        if len(parts) == 6 and parts[1].endswith(".git") and parts[2:5] == ["info", "lfs", "objects"]:
            repo_id = f"{parts[0]}/{parts[1][: -len('.git')]}"
            if repo_id not in self.repos:
                return self._error(req, 404, "RepoNotFound")
            if parts[5] == "batch":
                return self._lfs_batch(req, json.loads(body))
            if parts[5] == "verify":
                request = json.loads(body)
                stored = self.lfs_objects.get(request["oid"])
                if stored is None or len(stored) != request["size"]:
                    return self._error(req, 404, "EntryNotFound", message=f"LFS object {request['oid']} is not stored")
                return self._json(req, 200, {})
        return self._error(req, 404, "RepoNotFound")

    def _create_repo(self, req, request: dict) -> None:
        name, organization = request["name"], request.get("organization")
        repo_id = f"{organization}/{name}" if organization else name
        url = f"{self.endpoint}/{repo_id}"
        with self._lock:
            if repo_id in self.repos:
                return self._json(req, 409, {"error": "You already created this model repo", "url": url})
            self.add_commit(repo_id, {".gitattributes": GITATTRIBUTES}, message="initial commit")
            self.repos[repo_id]["private"] = request.get("visibility") == "private"
        return self._json(req, 200, {"url": url, "name": repo_id})

    def _preupload(self, req, repo_id: str, rev: str, request: dict) -> None:
        sha, files, error = self._resolve(repo_id, rev)
        if error:
            return self._error(req, 404, error)
        answer = []
        for f in request["files"]:
            existing = files.get(f["path"])
            oid = None
            if existing is not None:
                oid = hashlib.sha256(existing).hexdigest() if is_lfs(f["path"]) else git_blob_sha1(existing)
            mode = "lfs" if is_lfs(f["path"]) else "regular"
            answer.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return self._json(req, 200, {"files": answer, "commitOid": sha})

    def _lfs_batch(self, req, request: dict) -> None:
        if request.get("operation") != "upload" or "basic" not in request.get("transfers", ["basic"]):
            return self._error(req, 422, "BadRequest", message="only basic LFS uploads are served here")
        objects = []
        for obj in request["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.lfs_objects:  # objects already stored get no actions: nothing to send
                entry["actions"] = {
                    "upload": {"href": f"{self.endpoint}/lfs-upload/{obj['oid']}", "header": {}},
                    "verify": {"href": f"{self.endpoint}/{req.path.strip('/').rsplit('/', 1)[0]}/verify", "header": {}},
                }
            objects.append(entry)
        body = json.dumps({"transfer": "basic", "objects": objects}).encode()
        return self._send(req, 200, body, {"Content-Type": "application/vnd.git-lfs+json"}, head=False)

    def _lfs_store(self, req, oid: str, body: bytes) -> None:
        if hashlib.sha256(body).hexdigest() != oid:
            return self._error(req, 400, "BadRequest", message="the uploaded bytes do not match their sha256")
        with self._lock:
            self.lfs_objects[oid] = body
        return self._send(req, 200, b"", {}, head=False)

    def _commit(self, req, repo_id: str, branch: str, lines: list[dict]) -> None:
        with self._lock:
            repo = self.repos.get(repo_id)
            if repo is None:
                return self._error(req, 404, "RepoNotFound")
            if branch not in repo["refs"]:
                return self._error(req, 404, "RevisionNotFound", message=f"cannot commit to {branch!r}: not a branch")
            head = repo["refs"][branch]
            files = dict(repo["commits"][head])
            summary = ""
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "header":
                    summary = value["summary"]
                    if value.get("parentCommit") not in (None, head):
                        return self._error(req, 412, "PreconditionFailed", message="the branch moved since parent")
                elif key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "lfsFile":
                    if value["oid"] not in self.lfs_objects:
                        missing = f"an LFS pointer pointed to a file that does not exist: {value['path']}"
                        return self._error(req, 400, "BadRequest", message=f"Your push was rejected because {missing}")
                    files[value["path"]] = self.lfs_objects[value["oid"]]
                elif key == "deletedFile":
                    if files.pop(value["path"], None) is None:
                        return self._error(req, 404, "EntryNotFound", message="A file with this name doesn't exist")
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {p: d for p, d in files.items() if not p.startswith(prefix)}
                else:
                    return self._error(req, 400, "BadRequest", message=f"unknown commit operation {key!r}")
            sha = self.add_commit(repo_id, files, branch, message=summary)
        url = f"{self.endpoint}/{repo_id}/commit/{sha}"
        return self._json(
            req,
            200,
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": url,
                "commitMessage": summary,
                "hookOutput": "",
                "pullRequestUrl": None,
            },
        )

    @staticmethod
    def _read_body(req: BaseHTTPRequestHandler) -> bytes:
        if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(req.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    req.rfile.readline()  # the blank line after the last chunk
                    return b"".join(chunks)
                chunks.append(req.rfile.read(size))
                req.rfile.readline()
        return req.rfile.read(int(req.headers.get("Content-Length") or 0))

    # ---- responses ----
    @staticmethod
    def _send(req, status: int, body: bytes, headers: dict, head: bool) -> None:
        req.send_response(status)
        for key, value in headers.items():
            req.send_header(key, value)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if not head:
            req.wfile.write(body)

    def _json(self, req, status: int, body) -> None:
        self._send(req, status, json.dumps(body).encode(), {"Content-Type": "application/json"}, head=False)

    def _error(self, req, status: int, code: str, head: bool = False, extra: dict | None = None, message: str = ""):
        body = json.dumps({"error": message or code}).encode()
        headers = {
            "X-Error-Code": code,
            "X-Error-Message": message or code,
            "Content-Type": "application/json",
            **(extra or {}),
        }
        self._send(req, status, body, headers, head)

    def count(self, method: str, fragment: str = "") -> int:
        """How many `method` requests had `fragment` in their path."""
        return sum(n for key, n in self.requests.items() if key.startswith(method + " ") and fragment in key)
