"""Failure classes that decide what a consumer does with a message (docs/delivery-guarantees.md)."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from pydantic import ValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, ServerSelectionTimeoutError

from shared.envelope import EnvelopeError


class PermanentError(Exception):
    """Retrying cannot help (bad data, unknown reference): the message goes to the DLQ at once."""


class WriteConflict(Exception):
    """A conditional write lost its race more often than its retries allow (shared/store.py): try again later."""


#: Infrastructure is down (or, for a write conflict, too busy): do not dead-letter, hold the partition and
#: redeliver until it comes back.
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    ConnectionError,
    WriteConflict,
)

#: The message itself is bad: dead-letter at once.
PERMANENT_ERRORS: tuple[type[Exception], ...] = (PermanentError, EnvelopeError, ValidationError)


#: Vietnamese ``message`` of every error ``code`` an API answers (the default language; English on request).
#: A raise site may give its own, more specific Vietnamese text; these are the fall-back per code.
MESSAGES_VI: dict[str, str] = {
    "bad_request": "Yêu cầu không hợp lệ.",
    "unauthorized": "Chưa xác thực: thiếu hoặc sai khóa truy cập / mã thông báo (Authorization: Bearer ...).",
    "forbidden": "Không có quyền thực hiện thao tác này.",
    "not_found": "Không tìm thấy.",
    "method_not_allowed": "Phương thức không được hỗ trợ cho địa chỉ này.",
    "conflict": "Xung đột với trạng thái hiện tại.",
    "payload_too_large": "Dữ liệu gửi lên vượt quá giới hạn cho phép.",
    "nul_character": "Dữ liệu gửi lên chứa ký tự NUL, không trường nào chấp nhận ký tự này.",
    "unsupported_media_type": "Kiểu dữ liệu không được hỗ trợ.",
    "rate_limited": "Quá nhiều yêu cầu; vui lòng thử lại sau ít phút.",
    "too_many_streams": "Quá nhiều luồng cập nhật trực tiếp đang mở; vui lòng thử lại sau.",
    "idempotency_in_progress": "Một yêu cầu với cùng Idempotency-Key đang được xử lý; vui lòng thử lại sau giây lát.",
    "unsafe_webhook_url": "Địa chỉ webhook không được chấp nhận (phải là địa chỉ công khai, https khi vận hành).",
    "validation_error": "Dữ liệu không hợp lệ.",
    "malformed_json": "Nội dung gửi lên không phải JSON hợp lệ.",
    "unavailable": "Hệ thống tạm thời chưa sẵn sàng (cơ sở dữ liệu hoặc hàng đợi); vui lòng thử lại sau.",
    "internal_error": "Đã xảy ra lỗi không mong muốn; lỗi đã được ghi lại.",
    "date_out_of_range": "Ngày giờ nằm ngoài lịch làm việc được hỗ trợ (năm 2000–2100).",
    "naive_datetime": "Ngày giờ phải có múi giờ, ví dụ +07:00.",
    "unknown_procedure": "Không có thủ tục hành chính này.",
    "unknown_ward": "Không có xã/phường/đặc khu này.",
    "unknown_province": "Không có tỉnh/thành phố này.",
    "unknown_office": "Không có cơ quan này.",
    "unknown_kind": "Không có loại cơ quan này.",
    "unknown_ticket": "Không có số thứ tự đã được gọi hôm nay tại trung tâm này.",
    "login_failed": "Đăng nhập không thành công; vui lòng đăng nhập lại.",
    "login_rejected": "Không xác thực được đăng nhập định danh điện tử.",
    "citizen_id_mismatch": "Số định danh trong hồ sơ không phải của người đã đăng nhập.",
    "citizen_login_unavailable": "Chưa cấu hình đăng nhập bằng định danh điện tử cho công dân.",
    "identity_provider_unavailable": "Không kết nối được với hệ thống định danh điện tử; vui lòng thử lại sau.",
    "invalid_citizen_id": "Số định danh cá nhân (CCCD) không hợp lệ: phải gồm đúng 12 chữ số hợp lệ.",
    "invalid_phone": "Số điện thoại di động không hợp lệ (bắt đầu bằng 0 hoặc +84, sau đó 9 chữ số).",
    "invalid_document": "Thông tin giấy tờ đính kèm không hợp lệ.",
    "missing_documents": "Hồ sơ còn thiếu giấy tờ bắt buộc.",
    "missing_subject": "Thủ tục này cần xã/phường nơi có đối tượng (thửa đất, công trình).",
    "procedure_not_online": "Thủ tục này không được nộp trực tuyến.",
    "idempotency_key_reused": "Idempotency-Key này đã được dùng cho một yêu cầu khác.",
    "not_awaiting_supplement": "Hồ sơ không ở trạng thái chờ bổ sung.",
    "queue_empty": "Không còn ai đang chờ.",
    "illegal_transition": "Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ.",
    "reason_required": "Cần ghi rõ lý do (từ chối, yêu cầu bổ sung, chuyển xử lý).",
    "invalid_date": "Ngày không hợp lệ hoặc nằm ngoài khoảng được hỗ trợ.",
    "invalid_range": "Khoảng thời gian không hợp lệ: ngày bắt đầu sau ngày kết thúc.",
    "range_too_long": "Khoảng thời gian quá dài cho một báo cáo.",
    "invalid_province": "Mã tỉnh, thành phố không hợp lệ.",
    "invalid_office": "Mã cơ quan không hợp lệ.",
    "chain_continues": (
        "Đây là một bước của quy trình liên thông: kết quả được chuyển tiếp đến cơ quan của bước sau "
        "và chỉ trả cho công dân một lần khi hoàn tất."
    ),
    "not_returned": "Chỉ đánh giá được sau khi đã trả kết quả.",
    "already_rated": "Hồ sơ này đã được đánh giá.",
    "supplement_limit": "Đã hết số lần yêu cầu bổ sung mà thủ tục cho phép.",
    "concurrent_change": "Hồ sơ vừa được thay đổi; vui lòng tải lại và thử lại.",
    "not_overdue": "Hồ sơ chưa quá hạn.",
    "invalid_due_date": "Ngày hẹn trả mới phải ở tương lai.",
    "no_signing_key": "Cơ quan chưa được cấu hình khóa ký số.",
    "not_failed": "Chỉ gửi lại được lần gửi đã thất bại.",
    "invalid_tracking_token": "Mã tra cứu không đúng với hồ sơ này.",
    "form_not_applicable": "Hồ sơ ở trạng thái hiện tại không có mẫu giấy này.",
    "not_a_result_pdf": "Tệp không phải là bản PDF kết quả đã ký số của hệ thống.",
    "unknown_document": "Hồ sơ không khai báo giấy tờ này.",
    "no_file": "Chưa có tệp nào được tải lên cho giấy tờ này.",
    "file_damaged": "Tệp đã lưu bị hỏng (không khớp mã kiểm tra); cơ quan đã được báo.",
    "unsupported_file_type": "Loại tệp không được chấp nhận: chỉ nhận PDF, JPEG hoặc PNG.",
    "content_type_mismatch": "Loại tệp tải lên khác loại đã khai báo trong hồ sơ.",
    "file_too_large": "Tệp vượt quá dung lượng cho phép.",
    "size_mismatch": "Dung lượng tệp tải lên khác dung lượng đã khai báo trong hồ sơ.",
    "checksum_mismatch": "Mã SHA-256 của tệp tải lên khác mã đã khai báo trong hồ sơ.",
    "content_mismatch": "Nội dung tệp không đúng với loại tệp đã khai báo.",
}

#: Vietnamese reason per pydantic error type, for ``<field>: <reason>`` messages of invalid requests.
VALIDATION_VI: dict[str, str] = {
    "missing": "bắt buộc nhập",
    "extra_forbidden": "trường không được chấp nhận",
    "string_type": "phải là chuỗi ký tự",
    "string_too_short": "phải có ít nhất {min_length} ký tự",
    "string_too_long": "chỉ được tối đa {max_length} ký tự",
    "string_pattern_mismatch": "không đúng định dạng",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_parsing": "phải là số",
    "bool_parsing": "phải là true hoặc false",
    "bool_type": "phải là true hoặc false",
    "greater_than": "phải lớn hơn {gt}",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "less_than": "phải nhỏ hơn {lt}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "literal_error": "phải là một trong các giá trị: {expected}",
    "enum": "phải là một trong các giá trị: {expected}",
    "too_short": "phải có ít nhất {min_length} phần tử",
    "too_long": "chỉ được tối đa {max_length} phần tử",
    "list_type": "phải là danh sách",
    "dict_type": "phải là đối tượng JSON",
    "model_type": "phải là đối tượng JSON",
    "model_attributes_type": "phải là đối tượng JSON",
    "datetime_parsing": "phải là ngày giờ ISO 8601, ví dụ 2027-02-03T10:00:00+07:00",
    "datetime_from_date_parsing": "phải là ngày giờ ISO 8601, ví dụ 2027-02-03T10:00:00+07:00",
    "datetime_type": "phải là ngày giờ ISO 8601",
    "json_invalid": "không phải JSON hợp lệ",
    "value_error": "giá trị không hợp lệ",
}
