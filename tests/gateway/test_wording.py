"""What players read: every refusal and failure code, worded in Spanish with the rule and its limit."""

from __future__ import annotations

import logging

import pytest

from anb_common.reasons import ProcessingFailure, Reason, TusRule, UploadRule, encode
from anb_gateway import wording

# (reason, what the player reads): every UploadRule, with the values ingest sends.
UPLOAD_REFUSALS = [
    (
        Reason(UploadRule.TOO_LARGE, {"limit_bytes": 100_000_000}),
        "video_file: el archivo supera el límite de 100 MB.",
    ),
    (
        Reason(UploadRule.TOO_LARGE, {"limit_bytes": 2_500_000}),
        "video_file: el archivo supera el límite de 2,5 MB.",
    ),
    (Reason(UploadRule.EMPTY_FILE), "video_file: el archivo está vacío."),
    (
        Reason(UploadRule.MISSING_FIELD, {"field": "title"}),
        "title: falta este campo del formulario (se requieren video_file y title).",
    ),
    (
        Reason(UploadRule.DUPLICATE_FIELD, {"field": "video_file"}),
        "video_file: el campo se envió más de una vez; envíelo una sola vez.",
    ),
    (Reason(UploadRule.MALFORMED_FORM), wording.NOT_MULTIPART),
    (
        Reason(UploadRule.TITLE, {"min_chars": 1, "max_chars": 200}),
        "title: el título debe tener entre 1 y 200 caracteres.",
    ),
    (
        Reason(UploadRule.NOT_A_VIDEO),
        "video_file: el archivo no es un video admitido (contenedores MP4, MOV, WebM o MKV con video "
        "H.264, HEVC, VP9 o AV1).",
    ),
    (Reason(UploadRule.NO_VIDEO_STREAM), "video_file: el archivo no contiene una pista de video."),
    (Reason(UploadRule.UNDECODABLE), "video_file: la pista de video está dañada y no se puede reproducir."),
    (
        Reason(UploadRule.CODEC, {"codec": "mpeg4"}),
        "video_file: el video está codificado en mpeg4; se admiten H.264, HEVC, VP9 y AV1.",
    ),
    (
        Reason(UploadRule.DURATION, {"duration_s": 10.0, "min_s": 20.0}),
        "video_file: el video dura 10,0 s; debe durar al menos 20 s.",
    ),
    (
        Reason(UploadRule.DURATION, {"duration_s": 61.25, "max_s": 60.0}),
        "video_file: el video dura 61,2 s; debe durar como máximo 60 s.",
    ),
    (
        Reason(UploadRule.RESOLUTION, {"width": 1280, "height": 720, "min_short_side_px": 1080}),
        "video_file: el video mide 1280x720 píxeles; su lado menor debe medir al menos 1080 píxeles (1080p).",
    ),
    (
        Reason(UploadRule.RESOLUTION, {"width": 8192, "height": 4320, "max_long_side_px": 4096}),
        "video_file: el video mide 8192x4320 píxeles; su lado mayor debe medir como máximo 4096 píxeles "
        "(4K).",
    ),
    (
        Reason(UploadRule.FRAME_RATE, {"fps": 500.0, "max_fps": 120}),
        "video_file: el video tiene 500 imágenes por segundo; debe tener como máximo 120.",
    ),
    (
        Reason(UploadRule.TOO_SLOW, {"bytes_per_s": 210.5, "min_bytes_per_s": 16384}),
        "video_file: el archivo llegó demasiado lento (el mínimo es 16,4 KB/s en promedio); la carga se "
        "canceló sin guardar nada. Intente de nuevo con una conexión más estable.",
    ),
    (Reason(UploadRule.IDENTITY), wording.UPLOADS_UNEXPECTED),
    (Reason(UploadRule.UNAVAILABLE), wording.UPLOADS_UNAVAILABLE),
]

# (reason, what the player reads): every ProcessingFailure, with the values the transcoder stores.
FAILURES = [
    (Reason(ProcessingFailure.DAMAGED), "El archivo está dañado y no se pudo decodificar. Súbalo de nuevo."),
    (
        Reason(ProcessingFailure.MISSING_ORIGINAL),
        "El archivo original ya no está disponible. Súbalo de nuevo.",
    ),
    (
        Reason(ProcessingFailure.GAVE_UP, {"attempts": 3}),
        "No pudimos procesar el video tras 3 intentos por un problema de nuestra parte. Súbalo de nuevo.",
    ),
    (
        Reason(ProcessingFailure.UNSUPPORTED_CODEC, {"codec": "prores"}),
        "El video está codificado en prores, que no podemos procesar; se admiten H.264, HEVC, VP9 y AV1.",
    ),
    (
        Reason(
            ProcessingFailure.UNSUPPORTED_PICTURE, {"pix_fmt": "yuv444p12le", "width": 1920, "height": 1080}
        ),
        "La imagen del video (1920x1080 píxeles, formato yuv444p12le) no se puede procesar; grábelo en un "
        "formato común (por ejemplo H.264, 1080p).",
    ),
    (
        Reason(ProcessingFailure.DAMAGED_MIDWAY),
        "Parte del video está dañada o cambia de tamaño o formato a mitad de la grabación; no se pudo "
        "procesar.",
    ),
    (
        Reason(ProcessingFailure.TOO_MANY_FRAMES, {"max_frames": 3600}),
        "El video tiene más imágenes de las que se procesan por video (como máximo 3600): su frecuencia de "
        "cuadros o sus marcas de tiempo no son válidas.",
    ),
    (
        Reason(ProcessingFailure.TOOK_TOO_LONG, {"max_s": 600}),
        "El procesamiento superó el tiempo máximo por video (600 s). Súbalo de nuevo con otra codificación.",
    ),
    (Reason(ProcessingFailure.UNSPECIFIED, {"text": "ffmpeg said no"}), wording.PROCESSING_FAILED),
]


@pytest.mark.parametrize(("reason", "sentence"), UPLOAD_REFUSALS)
def test_each_upload_rule_names_the_rule_and_the_limit(reason: Reason, sentence: str) -> None:
    assert wording.upload_refusal(reason) == sentence


# (reason, what a tus client reads): every TusRule, and the upload rule whose wording differs for tus.
TUS_REFUSALS = [
    (Reason(TusRule.VERSION), "Tus-Resumable: esta API habla tus 1.0.0; envíe Tus-Resumable: 1.0.0."),
    (Reason(TusRule.HEADER, {"header": "Upload-Length"}), "Upload-Length: falta o no es válido."),
    (Reason(TusRule.CONTENT_TYPE), "Content-Type: debe ser application/offset+octet-stream."),
    (
        Reason(TusRule.CHECKSUM_ALGORITHM, {"algorithm": "md5", "supported": "sha1,sha256"}),
        "Upload-Checksum: algoritmo no admitido; use uno de: sha1, sha256.",
    ),
    (
        Reason(TusRule.CHECKSUM_MISMATCH),
        "Upload-Checksum: los bytes recibidos no coinciden con la suma de verificación; no se guardaron. "
        "Envíe de nuevo ese fragmento.",
    ),
    (
        Reason(TusRule.OFFSET_MISMATCH, {"offset": 8388608}),
        "Upload-Offset: no coincide con lo que la carga ya tiene guardado; continúe desde el byte 8388608.",
    ),
    (
        Reason(TusRule.BEYOND_LENGTH, {"length": 1000}),
        "El fragmento llevaría la carga más allá de su Upload-Length (1000 bytes).",
    ),
    (Reason(TusRule.LOCKED), "Otra solicitud está enviando esta carga; intente de nuevo en unos segundos."),
    (Reason(TusRule.NOT_FOUND), "Carga no encontrada."),
    (Reason(TusRule.EXPIRED), "La carga expiró y se eliminó; empiece una nueva."),
    (
        Reason(TusRule.TOO_MANY, {"max": 3}),
        "Ya tiene 3 cargas en curso; termine o cancele alguna e intente de nuevo.",
    ),
    (
        Reason(TusRule.TITLE_MISSING),
        "Upload-Metadata: falta el título (title, en base64, de 1 a 200 caracteres).",
    ),
    # Cut for its pace, a PATCH keeps what arrived (the one-request upload keeps nothing).
    (
        Reason(UploadRule.TOO_SLOW, {"bytes_per_s": 210.5, "min_bytes_per_s": 16384}),
        "El fragmento llegó demasiado lento (el mínimo es 16,4 KB/s en promedio); se guardó lo recibido. "
        "Continúe desde el Upload-Offset que indica HEAD, con una conexión más estable.",
    ),
]


@pytest.mark.parametrize(("reason", "sentence"), TUS_REFUSALS)
def test_each_tus_rule_reads_in_spanish(reason: Reason, sentence: str) -> None:
    assert wording.tus_refusal(reason) == sentence


def test_a_rule_the_clip_breaks_reads_for_tus_as_for_the_one_request_upload() -> None:
    reason = Reason(UploadRule.RESOLUTION, {"width": 1280, "height": 720, "min_short_side_px": 1080})
    assert wording.tus_refusal(reason) == wording.upload_refusal(reason)
    assert {reason.code for reason, _ in TUS_REFUSALS} >= set(TusRule)


@pytest.mark.parametrize(("reason", "sentence"), FAILURES)
def test_each_processing_failure_reads_in_spanish(reason: Reason, sentence: str) -> None:
    assert wording.processing_failure(encode(reason)) == sentence


def test_every_code_has_its_own_words() -> None:
    # A code added to anb_common.reasons fails here until it is worded (and added to a table above).
    assert {reason.code for reason, _ in UPLOAD_REFUSALS} == set(UploadRule)
    assert {reason.code for reason, _ in FAILURES} == set(ProcessingFailure)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        # What the transcoder stored before reasons were codes: English for logs, never shown.
        "We could not process your video after several attempts because of a problem on our side.",
        '{"code": "damaged", "values": {}, "extra": 1}',
    ],
)
def test_a_failure_stored_as_text_reads_as_the_generic_sentence(stored: str | None) -> None:
    assert wording.processing_failure(stored) == wording.PROCESSING_FAILED


@pytest.mark.parametrize(
    "reason",
    [
        Reason(UploadRule.DURATION, {"duration_s": "long"}),
        Reason(UploadRule.RESOLUTION, {"width": 1280}),
        Reason(UploadRule.TOO_LARGE, {}),
        Reason(UploadRule.TITLE, {"max_chars": True}),
        Reason(UploadRule.CODEC, {"codec": 7}),
        Reason(UploadRule.TOO_SLOW, {"min_bytes_per_s": "fast"}),
        Reason(UploadRule.TOO_LARGE, {"limit_bytes": 2_500_000.5}),
    ],
)
def test_missing_or_malformed_values_drop_the_figure_not_the_rule(reason: Reason) -> None:
    sentence = wording.upload_refusal(reason)
    assert sentence.startswith(("video_file:", "title:"))
    assert "None" not in sentence


def test_an_unknown_code_still_reads_in_spanish_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="anb_gateway.wording"):
        assert wording.upload_refusal(Reason("sky_color", {"hue": 500})) == wording.UPLOAD_REFUSED
        assert wording.processing_failure(encode(Reason("cosmic_ray"))) == wording.PROCESSING_FAILED
    assert "sky_color" in caplog.text
    assert "cosmic_ray" in caplog.text


# (field as the framework names it, its message, what the player reads): the checks of the request's
# shape that msgspec and Litestar phrase in English.
INVALID = [
    (
        "password1",
        "Expected `str` of length >= 8 - at `$.password1`",
        "password1: debe tener al menos 8 caracteres.",
    ),
    ("first_name", "Expected `str` of length >= 1", "first_name: no puede estar vacío."),
    ("last_name", "Expected `str` of length <= 100", "last_name: debe tener como máximo 100 caracteres."),
    ("limit", "Expected `int` >= 1", "limit: debe ser un número mayor o igual que 1."),
    ("limit", "Expected `int` <= 100", "limit: debe ser un número menor o igual que 100."),
    ("limit", "Expected `int`, got `str`", "limit: debe ser un número entero."),
    ("country", "Expected `str`, got `int`", "country: debe ser texto."),
    ("data", "Expected `object`, got `array`", "body: debe ser un objeto JSON."),
    ("data", "Object missing required field `city`", "city: falta este campo."),
    ("data", "Object contains unknown field `is_admin`", "is_admin: este campo no existe en la API."),
    (
        "email",
        "Expected `str` matching regex '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'",
        "email: debe ser un correo válido.",
    ),
    ("city", "Expected `str` matching regex '\\S'", "city: no puede estar vacío."),
    (None, "JSON is malformed: object keys must be strings (byte 1)", "body: no es JSON válido."),
    ("data", "'data'", "body: falta el cuerpo JSON o no es válido."),
    ("title", "something new the framework says", "title: valor inválido."),
]


@pytest.mark.parametrize(("key", "message", "sentence"), INVALID)
def test_the_request_shape_rules_read_in_spanish(key: str | None, message: str, sentence: str) -> None:
    assert wording.invalid(key, message) == sentence


@pytest.mark.parametrize(
    ("status", "sentence"), [(404, "Recurso no encontrado."), (405, "Método no permitido.")]
)
def test_the_frameworks_own_answers_read_in_spanish(status: int, sentence: str) -> None:
    assert wording.http_status(status) == sentence
    assert wording.http_status(418).startswith("Error HTTP 418")


def test_the_gateways_own_refusals_are_kept_and_the_frameworks_reworded() -> None:
    assert wording.reworded(wording.PASSWORDS_DIFFER) == wording.PASSWORDS_DIFFER
    assert wording.reworded("JSON is malformed: trailing characters (byte 3)") == "body: no es JSON válido."
