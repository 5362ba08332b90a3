"""Everything a player reads from the platform, in Spanish, written here and nowhere else.

Ingest answers its refusals and the transcoder stores its failures as machine codes with values
(``anb_common.reasons``); this module turns each into a sentence that names the rule and the limit
(``video_file: el video dura 10,0 s; debe durar al menos 20 s.``), and holds the gateway's own
messages too, so that the platform speaks with one voice and a rewording is one edit.

A code this module does not know (a service that learned a new rule before the gateway did) still
reads as Spanish, a generic sentence, and is logged so that it gets its own words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping

from anb_common.reasons import ProcessingFailure, Reason, TusRule, UploadRule, Value, decode

log = logging.getLogger(__name__)

# --- Accounts -------------------------------------------------------------------------------------
SIGNED_UP = "Usuario creado exitosamente."
BAD_CREDENTIALS = "Credenciales inválidas."
PASSWORDS_DIFFER = "password2: las contraseñas no coinciden."
EMAIL_TAKEN = "email: ya existe una cuenta con este correo."
NO_AUTHORIZATION = "Falta el encabezado Authorization: Bearer <access_token>."
BAD_AUTHORIZATION = "El encabezado Authorization debe tener la forma: Bearer <access_token>."
BEARER_REFUSED = "Token inválido o expirado."


def too_many_from_address(retry_after_s: int) -> str:
    return f"Demasiados intentos desde esta dirección; intente de nuevo en {retry_after_s} s."


def too_many_for_account(retry_after_s: int) -> str:
    return f"Demasiados intentos fallidos para esta cuenta; intente de nuevo en {retry_after_s} s."


# --- Videos ---------------------------------------------------------------------------------------
ACCEPTED = "Video subido correctamente. Procesamiento en curso."
DELETED = "El video ha sido eliminado exitosamente."
PUBLISHED = "El video ha sido publicado para votación."
VIDEO_NOT_FOUND = "Video no encontrado."
NOT_YOURS = "El video pertenece a otro usuario."
PUBLISHED_UNDELETABLE = "El video está publicado para votación y no puede eliminarse."
ALREADY_PUBLISHED = "El video ya está publicado."
NOT_PROCESSED_YET = "El video aún no ha sido procesado."

# --- The poster pick ------------------------------------------------------------------------------
POSTER_CHOSEN = "Portada actualizada."
POSTER_NOT_YET = (
    "La portada de este video aún no se puede elegir: se procesó antes de que la plataforma registrara "
    "dónde empiezan y terminan las imágenes del jugador."
)
POSTERS_UNAVAILABLE = "El servicio de imágenes no está disponible; intente de nuevo en unos minutos."
POSTERS_TIMED_OUT = "El servicio de imágenes no respondió a tiempo; intente de nuevo."
POSTERS_UNEXPECTED = "El servicio de imágenes respondió de forma inesperada; intente de nuevo."


def poster_out_of_range(footage_s: object) -> str:
    """A moment outside the player's footage; ``footage_s`` is its length when known."""
    rule = (
        "time_s: el momento debe estar dentro de las imágenes del jugador "
        "(sin las tarjetas de inicio y cierre)"
    )
    if isinstance(footage_s, int | float) and not isinstance(footage_s, bool):
        return f"{rule}: desde 0 s y antes de {_decimal(footage_s, 1)} s, su duración."
    return f"{rule}."


# --- Votes ----------------------------------------------------------------------------------------
VOTED = "Voto registrado exitosamente."
ALREADY_VOTED = "Ya has votado por este video."
NO_PUBLISHED_VIDEO = "No existe un video publicado con ese id."

# --- The upload, as the gateway itself refuses it -------------------------------------------------
NOT_MULTIPART = "El cuerpo debe ser multipart/form-data con los campos video_file y title."
BAD_CONTENT_LENGTH = "Content-Length no es un número válido."
EMPTY_BODY = "video_file: falta el archivo (cuerpo vacío)."
CLIENT_GONE = "La conexión se cerró antes de recibir el archivo completo."
UPLOADS_SATURATED = "El servicio de carga está saturado; intente de nuevo en unos minutos."
UPLOADS_UNAVAILABLE = "El servicio de carga no está disponible; intente de nuevo en unos minutos."
UPLOADS_TIMED_OUT = "El servicio de carga no respondió a tiempo; intente de nuevo."
UPLOADS_INTERRUPTED = "La carga se interrumpió entre servicios; intente de nuevo."
UPLOADS_UNEXPECTED = "El servicio de carga respondió de forma inesperada; intente de nuevo."


def too_large(limit_bytes: float) -> str:
    return f"video_file: el archivo supera el límite de {_decimal(limit_bytes / 1_000_000)} MB."


def too_slow(min_rate_bytes_s: float) -> str:
    pace = _decimal(min_rate_bytes_s / 1000)
    return (
        f"video_file: el archivo llegó demasiado lento (el mínimo es {pace} KB/s en promedio); "
        "la carga se canceló sin guardar nada. Intente de nuevo con una conexión más estable."
    )


def too_many_uploads(per_player: int) -> str:
    return (
        f"Ya tiene {per_player} cargas en curso, el máximo a la vez; "
        "espere a que terminen e intente de nuevo."
    )


# --- The platform ---------------------------------------------------------------------------------
UNAVAILABLE = "Servicio no disponible temporalmente; intente de nuevo en unos segundos."
DATABASE_DOWN = "La base de datos no responde."


def internal_error(request_id: str) -> str:
    return f"Error interno del servidor (referencia {request_id})."


# --- Requests that break the API's shape ----------------------------------------------------------
# msgspec and Litestar phrase these in English ("Expected `str` of length >= 8 - at `$.password1`");
# each known phrasing is reworded here, naming the field and the rule.
_TYPES = {
    "str": "texto",
    "int": "un número entero",
    "float": "un número",
    "bool": "verdadero o falso",
    "object": "un objeto JSON",
    "array": "una lista JSON",
}
_SHAPE_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str | None, str]]]] = [
    (re.compile(r"Expected `str` of length >= 1$"), lambda m: (None, "no puede estar vacío")),
    (
        re.compile(r"Expected `str` of length >= (\d+)"),
        lambda m: (None, f"debe tener al menos {m[1]} caracteres"),
    ),
    (
        re.compile(r"Expected `str` of length <= (\d+)"),
        lambda m: (None, f"debe tener como máximo {m[1]} caracteres"),
    ),
    (
        re.compile(r"Expected `(?:int|float)` >= (\S+)"),
        lambda m: (None, f"debe ser un número mayor o igual que {m[1]}"),
    ),
    (
        re.compile(r"Expected `(?:int|float)` <= (\S+)"),
        lambda m: (None, f"debe ser un número menor o igual que {m[1]}"),
    ),
    (re.compile(r"Expected `(\w+)`, got `\w+`"), lambda m: (None, f"debe ser {_TYPES.get(m[1], m[1])}")),
    (re.compile(r"Object missing required field `(\w+)`"), lambda m: (m[1], "falta este campo")),
    (
        re.compile(r"Object contains unknown field `(\w+)`"),
        lambda m: (m[1], "este campo no existe en la API"),
    ),
    # The only patterns in our schemas: the email's shape, and "not only spaces".
    (re.compile(r"matching regex '\^\[\^@"), lambda m: (None, "debe ser un correo válido")),
    (re.compile(r"matching regex"), lambda m: (None, "no puede estar vacío")),
    (re.compile(r"JSON is malformed"), lambda m: ("body", "no es JSON válido")),
]


def invalid(key: str | None, message: str) -> str:
    """One rule a request broke, as ``field: rule.``; ``key`` as the framework names the field (the
    handler's ``data`` is the JSON body)."""
    field = "body" if key in (None, "data") else key
    if (sentence := _shape_rule(field, message)) is not None:
        return sentence
    if field == "body":
        return "body: falta el cuerpo JSON o no es válido."
    return f"{field}: valor inválido."


def reworded(detail: str) -> str:
    """A refusal's detail: the framework's English reworded, the gateway's own words kept."""
    return _shape_rule("body", detail) or detail


def _shape_rule(field: str, message: str) -> str | None:
    # msgspec appends where it found the problem; the field is named separately.
    rule = message.split(" - at ", 1)[0]
    for pattern, render in _SHAPE_RULES:
        if found := pattern.search(rule):
            named, sentence = render(found)
            return f"{named or field}: {sentence}."
    return None


_STATUS = {
    400: "Solicitud inválida.",
    401: "No autorizado.",
    403: "Acceso denegado.",
    404: "Recurso no encontrado.",
    405: "Método no permitido.",
    413: "El cuerpo de la solicitud es demasiado grande.",
    415: "Tipo de contenido no admitido.",
    429: "Demasiadas solicitudes; intente de nuevo más tarde.",
}


def http_status(status_code: int) -> str:
    """What the framework's own answers (an unknown route, a method not served) say."""
    return _STATUS.get(status_code, f"Error HTTP {status_code}.")


# --- Ingest's refusals (UploadRule) ---------------------------------------------------------------
_ACCEPTED_FORMATS = "contenedores MP4, MOV, WebM o MKV con video H.264, HEVC, VP9 o AV1"
UPLOAD_REFUSED = f"video_file: el archivo no es un video que la plataforma acepte ({_ACCEPTED_FORMATS})."
"""A refusal whose code this gateway does not know yet."""


def upload_refusal(reason: Reason) -> str:
    """The ``detail`` of an upload ingest refused."""
    render = _UPLOAD_RULES.get(reason.code)
    if render is None:
        log.warning("no wording for upload rule %r (values %r)", reason.code, reason.values)
        return UPLOAD_REFUSED
    return render(_Figures(reason.values))


# --- Resumable uploads (TusRule) -------------------------------------------------------------------


def tus_refusal(reason: Reason) -> str:
    """The ``detail`` of a resumable upload request ingest refused: its own rules (offsets, leases,
    headers) or a rule the clip breaks, worded as the one-request upload's."""
    render = _TUS_RULES.get(reason.code)
    return upload_refusal(reason) if render is None else render(_Figures(reason.values))


def _offset_mismatch(figures: _Figures) -> str:
    offset = figures.number("offset")
    where = f"; continúe desde el byte {offset}" if offset is not None else ""
    return f"Upload-Offset: no coincide con lo que la carga ya tiene guardado{where}."


def _checksum_algorithm(figures: _Figures) -> str:
    supported = figures.text("supported") or "sha1, sha256"
    return f"Upload-Checksum: algoritmo no admitido; use uno de: {supported.replace(',', ', ')}."


def _too_many_in_progress(figures: _Figures) -> str:
    most = figures.number("max")
    count = f"{most} cargas" if most else "el máximo de cargas"
    return f"Ya tiene {count} en curso; termine o cancele alguna e intente de nuevo."


def tus_too_slow(min_rate_bytes_s: float | None) -> str:
    """A PATCH cut for its pace: unlike the one-request upload, what arrived is kept."""
    pace = f" (el mínimo es {_decimal(min_rate_bytes_s / 1000)} KB/s en promedio)" if min_rate_bytes_s else ""
    return (
        f"El fragmento llegó demasiado lento{pace}; se guardó lo recibido. "
        "Continúe desde el Upload-Offset que indica HEAD, con una conexión más estable."
    )


def _beyond_length(figures: _Figures) -> str:
    length = figures.number("length")
    declared = f" ({length} bytes)" if length else ""
    return f"El fragmento llevaría la carga más allá de su Upload-Length{declared}."


_TUS_RULES: dict[str, Callable[[_Figures], str]] = {
    TusRule.VERSION: lambda _: "Tus-Resumable: esta API habla tus 1.0.0; envíe Tus-Resumable: 1.0.0.",
    TusRule.HEADER: lambda f: f"{f.text('header') or 'Encabezado tus'}: falta o no es válido.",
    TusRule.CONTENT_TYPE: lambda _: "Content-Type: debe ser application/offset+octet-stream.",
    TusRule.CHECKSUM_ALGORITHM: _checksum_algorithm,
    TusRule.CHECKSUM_MISMATCH: lambda _: (
        "Upload-Checksum: los bytes recibidos no coinciden con la suma de verificación; no se guardaron. "
        "Envíe de nuevo ese fragmento."
    ),
    UploadRule.TOO_SLOW: lambda f: tus_too_slow(f.value("min_bytes_per_s")),
    TusRule.OFFSET_MISMATCH: _offset_mismatch,
    TusRule.BEYOND_LENGTH: _beyond_length,
    TusRule.LOCKED: lambda _: "Otra solicitud está enviando esta carga; intente de nuevo en unos segundos.",
    TusRule.NOT_FOUND: lambda _: "Carga no encontrada.",
    TusRule.EXPIRED: lambda _: "La carga expiró y se eliminó; empiece una nueva.",
    TusRule.TOO_MANY: _too_many_in_progress,
    TusRule.TITLE_MISSING: lambda _: (
        "Upload-Metadata: falta el título (title, en base64, de 1 a 200 caracteres)."
    ),
}


# --- The transcoder's failures (ProcessingFailure) ------------------------------------------------
PROCESSING_FAILED = (
    "No pudimos procesar el video. Súbalo de nuevo; si vuelve a fallar, pruebe con otro archivo."
)
"""A failure stored before reasons were codes, or with a code this gateway does not know yet: the
stored text was written for logs, in English, and is never shown."""


def processing_failure(stored: str | None) -> str:
    """The ``error`` of a failed video, from what the transcoder stored in ``failure_reason``."""
    reason = decode(stored or "")
    render = _FAILURES.get(reason.code)
    if render is None:
        if reason.code != ProcessingFailure.UNSPECIFIED:
            log.warning("no wording for processing failure %r (values %r)", reason.code, reason.values)
        return PROCESSING_FAILED
    return render(_Figures(reason.values))


class _Figures:
    """A reason's values as a sentence shows them; a value missing or of the wrong type is None, so
    that a renderer drops the figure rather than fail (the sentence still names the rule)."""

    def __init__(self, values: Mapping[str, Value]) -> None:
        self._values = values

    def text(self, key: str) -> str | None:
        value = self._values.get(key)
        return value if isinstance(value, str) and value else None

    def value(self, key: str) -> float | None:
        value = self._values.get(key)
        return None if isinstance(value, bool) or not isinstance(value, int | float) else value

    def number(self, key: str, decimals: int | None = None) -> str | None:
        value = self.value(key)
        return None if value is None else _decimal(value, decimals)

    def size(self) -> str | None:
        width, height = self.number("width"), self.number("height")
        return f"{width}x{height}" if width and height else None


def _decimal(value: float, decimals: int | None = None) -> str:
    """Spanish style: a decimal comma; whole numbers without decimals unless ``decimals`` is set."""
    if decimals is None:
        decimals = 0 if float(value).is_integer() else 1
    return f"{value:.{decimals}f}".replace(".", ",")


def _too_large(figures: _Figures) -> str:
    limit = figures.value("limit_bytes")
    if limit is None:
        return "video_file: el archivo supera el tamaño máximo permitido."
    return too_large(limit)


def _missing_field(figures: _Figures) -> str:
    field = figures.text("field") or "video_file"
    return f"{field}: falta este campo del formulario (se requieren video_file y title)."


def _duplicate_field(figures: _Figures) -> str:
    field = figures.text("field") or "video_file"
    return f"{field}: el campo se envió más de una vez; envíelo una sola vez."


def _title(figures: _Figures) -> str:
    low, high = figures.number("min_chars"), figures.number("max_chars")
    if low is None or high is None:
        return "title: el título está vacío o es demasiado largo."
    return f"title: el título debe tener entre {low} y {high} caracteres."


def _codec(figures: _Figures) -> str:
    found = figures.text("codec")
    encoded = f"el video está codificado en {found}" if found else "el códec del video no se admite"
    return f"video_file: {encoded}; se admiten H.264, HEVC, VP9 y AV1."


def _duration(figures: _Figures) -> str:
    found = figures.number("duration_s", decimals=1)
    lasts = f"el video dura {found} s" if found else "la duración del video no se admite"
    if (low := figures.number("min_s")) is not None:
        return f"video_file: {lasts}; debe durar al menos {low} s."
    if (high := figures.number("max_s")) is not None:
        return f"video_file: {lasts}; debe durar como máximo {high} s."
    return f"video_file: {lasts}; está fuera de la duración admitida."


def _resolution(figures: _Figures) -> str:
    size = figures.size()
    measures = f"el video mide {size} píxeles" if size else "la resolución del video no se admite"
    if (low := figures.number("min_short_side_px")) is not None:
        return f"video_file: {measures}; su lado menor debe medir al menos {low} píxeles (1080p)."
    if (high := figures.number("max_long_side_px")) is not None:
        return f"video_file: {measures}; su lado mayor debe medir como máximo {high} píxeles (4K)."
    return f"video_file: {measures}; está fuera de la resolución admitida."


def _frame_rate(figures: _Figures) -> str:
    found, most = figures.number("fps"), figures.number("max_fps")
    has = f"el video tiene {found} imágenes por segundo" if found else "la frecuencia de cuadros no se admite"
    limit = f"debe tener como máximo {most}" if most else "está fuera de la frecuencia admitida"
    return f"video_file: {has}; {limit}."


def _too_slow(figures: _Figures) -> str:
    least = figures.value("min_bytes_per_s")
    if least is None:
        return "video_file: el archivo llegó demasiado lento; la carga se canceló sin guardar nada."
    return too_slow(least)


_UPLOAD_RULES: dict[str, Callable[[_Figures], str]] = {
    UploadRule.TOO_LARGE: _too_large,
    UploadRule.EMPTY_FILE: lambda _: "video_file: el archivo está vacío.",
    UploadRule.MISSING_FIELD: _missing_field,
    UploadRule.DUPLICATE_FIELD: _duplicate_field,
    UploadRule.MALFORMED_FORM: lambda _: NOT_MULTIPART,
    UploadRule.TITLE: _title,
    UploadRule.NOT_A_VIDEO: lambda _: (
        f"video_file: el archivo no es un video admitido ({_ACCEPTED_FORMATS})."
    ),
    UploadRule.NO_VIDEO_STREAM: lambda _: "video_file: el archivo no contiene una pista de video.",
    UploadRule.UNDECODABLE: lambda _: "video_file: la pista de video está dañada y no se puede reproducir.",
    UploadRule.CODEC: _codec,
    UploadRule.DURATION: _duration,
    UploadRule.RESOLUTION: _resolution,
    UploadRule.FRAME_RATE: _frame_rate,
    UploadRule.TOO_SLOW: _too_slow,
    # Never the player's doing: the relay answers these with its own messages (502, 503).
    UploadRule.IDENTITY: lambda _: UPLOADS_UNEXPECTED,
    UploadRule.UNAVAILABLE: lambda _: UPLOADS_UNAVAILABLE,
}


def _gave_up(figures: _Figures) -> str:
    attempts = figures.number("attempts")
    tries = f"tras {attempts} intentos" if attempts else "tras varios intentos"
    return f"No pudimos procesar el video {tries} por un problema de nuestra parte. Súbalo de nuevo."


def _unsupported_codec(figures: _Figures) -> str:
    found = figures.text("codec")
    encoded = f"está codificado en {found}" if found else "usa un códec"
    return f"El video {encoded}, que no podemos procesar; se admiten H.264, HEVC, VP9 y AV1."


def _unsupported_picture(figures: _Figures) -> str:
    size, pixels = figures.size(), figures.text("pix_fmt")
    described = ", ".join(
        part for part in (size and f"{size} píxeles", pixels and f"formato {pixels}") if part
    )
    picture = f"La imagen del video ({described})" if described else "La imagen del video"
    return f"{picture} no se puede procesar; grábelo en un formato común (por ejemplo H.264, 1080p)."


def _too_many_frames(figures: _Figures) -> str:
    most = figures.number("max_frames")
    limit = f" (como máximo {most})" if most else ""
    return (
        f"El video tiene más imágenes de las que se procesan por video{limit}: su frecuencia de "
        "cuadros o sus marcas de tiempo no son válidas."
    )


def _took_too_long(figures: _Figures) -> str:
    most = figures.number("max_s")
    limit = f" ({most} s)" if most else ""
    return (
        f"El procesamiento superó el tiempo máximo por video{limit}. Súbalo de nuevo con otra codificación."
    )


_FAILURES: dict[str, Callable[[_Figures], str]] = {
    ProcessingFailure.DAMAGED: lambda _: "El archivo está dañado y no se pudo decodificar. Súbalo de nuevo.",
    ProcessingFailure.MISSING_ORIGINAL: lambda _: (
        "El archivo original ya no está disponible. Súbalo de nuevo."
    ),
    ProcessingFailure.GAVE_UP: _gave_up,
    ProcessingFailure.UNSUPPORTED_CODEC: _unsupported_codec,
    ProcessingFailure.UNSUPPORTED_PICTURE: _unsupported_picture,
    ProcessingFailure.DAMAGED_MIDWAY: lambda _: (
        "Parte del video está dañada o cambia de tamaño o formato a mitad de la grabación; "
        "no se pudo procesar."
    ),
    ProcessingFailure.TOO_MANY_FRAMES: _too_many_frames,
    ProcessingFailure.TOOK_TOO_LONG: _took_too_long,
}
