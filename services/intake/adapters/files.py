"""Dossier files in intake's own store, with GridFS (motor's AsyncIOMotorGridFSBucket; works on FerretDB too)."""

from __future__ import annotations

from typing import Any

from gridfs.errors import FileExists, NoFile
from motor.motor_asyncio import AsyncIOMotorGridFSBucket

BUCKET = "dossier_files"


class DossierFiles:
    """Files by id: ``<dossier id>/<document code>/<sha256>``, so a repeated upload stores nothing new."""

    def __init__(self, db: Any) -> None:
        # GridFS needs the driver's own database object (not the write-serialising wrapper of shared/store)
        self._db = db
        self._bucket: AsyncIOMotorGridFSBucket | None = None

    @property
    def bucket(self) -> AsyncIOMotorGridFSBucket:
        """The bucket, made on first use inside the running event loop (motor binds it to that loop)."""
        if self._bucket is None:
            self._bucket = AsyncIOMotorGridFSBucket(self._db, bucket_name=BUCKET)
        return self._bucket

    async def put(self, file_id: str, filename: str, data: bytes, metadata: dict[str, Any]) -> bool:
        """Store a file once; False when this exact file was already stored."""
        try:
            await self.bucket.upload_from_stream_with_id(file_id, filename, data, metadata=metadata)
        except FileExists:
            return False
        return True

    async def get(self, file_id: str) -> tuple[bytes, dict[str, Any]] | None:
        """The file's bytes and metadata, or None."""
        try:
            stream = await self.bucket.open_download_stream(file_id)
        except NoFile:
            return None
        data: bytes = await stream.read()
        return data, dict(stream.metadata or {})
