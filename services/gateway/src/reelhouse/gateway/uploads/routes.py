"""``/v1/uploads``: send a file (multipart field ``file``), read, list and delete your uploads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from reelhouse.gateway.auth.dependencies import GenerateScope, ReadScope
from reelhouse.gateway.db import models
from reelhouse.gateway.dependencies import MediaUrlsDep, SessionDep, SettingsDep, StoreDep
from reelhouse.gateway.jobs.schemas import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from reelhouse.gateway.media_urls import MediaUrls
from reelhouse.gateway.problems import problem_responses
from reelhouse.gateway.query import reject_unknown_query
from reelhouse.gateway.uploads import service
from reelhouse.gateway.uploads.receive import FILE_FIELD
from reelhouse.gateway.uploads.schemas import Upload, UploadPage
from reelhouse.gateway.uploads.service import UploadRequest, expires_at, reference_of
from reelhouse.gateway.uploads.sniff import upload_kind

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "A JPEG, PNG, WebP or GIF image, an MP4 or WebM "
                            "video, or M4A (AAC), MP3 or WAV audio",
                        }
                    },
                },
                "encoding": {FILE_FIELD: {"contentType": "application/octet-stream"}},
            }
        },
    }
}


def upload_view(row: models.Upload, *, media_urls: MediaUrls, retention_days: float) -> Upload:
    return Upload(
        id=row.id,
        kind=upload_kind(row.kind),
        content_type=row.content_type,
        size=row.size,
        width=row.width,
        height=row.height,
        duration=row.duration,
        sha256=row.sha256,
        url=media_urls.url_for(row.object_key),
        reference=reference_of(row.id),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=expires_at(row, retention_days),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Upload,
    summary="Upload an image, a video or audio",
    description=(
        "Send one file as `multipart/form-data` in the part `file` (`curl -F file=@photo.png`). "
        "Accepted: JPEG, PNG, WebP, GIF (its first frame, stored as PNG), MP4 and WebM videos, "
        "M4A (AAC), MP3 and WAV audio, recognised by their first bytes and decoded before "
        "anything is kept. Images are stored upright and re-encoded without EXIF or other "
        "metadata; videos and audio as sent (audio has no `width`/`height`). "
        "Larger than the configured limit (bytes, or pixels for an image) is 413 "
        "`upload_too_large`; another type 415 `unsupported_media`; a file that does not "
        "decode 422 `corrupt_media`. Use `reference` (`upload://upl_…`) as a generation "
        'input declared `"format": "uri"`. An upload no submit used for the retention '
        "period (`expires_at`) is deleted."
    ),
    responses={
        **problem_responses(
            "unauthorized",
            "insufficient_scope",
            "upload_too_large",
            "unsupported_media",
            "unsupported_media_type",
            "corrupt_media",
            "validation_error",
            "malformed_body",
            "storage_unavailable",
        ),
        status.HTTP_201_CREATED: {
            "headers": {
                "Location": {
                    "description": "The upload's address, `/v1/uploads/{upload_id}`",
                    "schema": {"type": "string"},
                }
            }
        },
    },
    openapi_extra=MULTIPART_BODY,
)
async def create_upload(
    request: Request,
    response: Response,
    session: SessionDep,
    owner: GenerateScope,
    settings: SettingsDep,
    store: StoreDep,
    media_urls: MediaUrlsDep,
) -> Upload:
    row = await service.create_upload(
        session=session,
        store=store,
        owner=owner,
        request=UploadRequest(
            chunks=request.stream(), content_type=request.headers.get("content-type")
        ),
        settings=settings.uploads,
    )
    response.headers["Location"] = f"/v1/uploads/{row.id}"
    return upload_view(row, media_urls=media_urls, retention_days=settings.uploads.retention_days)


@router.get(
    "/{upload_id}",
    response_model=Upload,
    summary="Read one upload",
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "validation_error"
    ),
)
async def get_upload(
    upload_id: str,
    session: SessionDep,
    owner: ReadScope,
    settings: SettingsDep,
    media_urls: MediaUrlsDep,
) -> Upload:
    row = await service.get_upload(session=session, owner=owner, upload_id=upload_id)
    return upload_view(row, media_urls=media_urls, retention_days=settings.uploads.retention_days)


@router.get(
    "",
    response_model=UploadPage,
    summary="List uploads, newest first",
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "validation_error", "invalid_cursor"
    ),
    dependencies=[Depends(reject_unknown_query)],
)
async def list_uploads(
    session: SessionDep,
    owner: ReadScope,
    settings: SettingsDep,
    media_urls: MediaUrlsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> UploadPage:
    rows, next_cursor = await service.list_uploads(
        session=session, owner=owner, limit=limit, cursor=cursor
    )
    days = settings.uploads.retention_days
    return UploadPage(
        data=[upload_view(row, media_urls=media_urls, retention_days=days) for row in rows],
        next_cursor=next_cursor,
    )


@router.delete(
    "/{upload_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete an upload (its file and its record)",
    description=(
        "Jobs already submitted with it keep their input; a provider that has not fetched the "
        "file yet will fail to."
    ),
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "validation_error", "storage_unavailable"
    ),
)
async def delete_upload(
    upload_id: str, session: SessionDep, owner: GenerateScope, store: StoreDep
) -> Response:
    await service.delete_upload(session=session, store=store, owner=owner, upload_id=upload_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
