import pytest

from reservations.privacy.documents import mask_document
from reservations.privacy.masking import mask_email, mask_name, mask_phone


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张*丰"),
        ("欧阳娜月", "欧**月"),
        ("Jason", "J***n"),
        ("王", "王"),
    ],
)
def test_names(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_resident_ids_keep_the_published_first_and_last_four() -> None:
    assert mask_document("resident_id", "410105199005171234") == "4101**********1234"
    assert mask_document("resident_id", "11010519491231002X") == "1101**********002X"
    assert mask_document("resident_id", "81000019900101001X") == "8100**********001X"


@pytest.mark.parametrize(
    ("id_type", "number", "masked"),
    [
        ("passport", "E12345678", "E******78"),
        ("passport", "EA1234567", "E******67"),
        ("hk_macau_permit", "H87654321", "H******21"),
        ("hk_macau_permit", "M1234567801", "M********01"),
        ("taiwan_permit", "12345678", "1******8"),
        ("taiwan_permit", "1234567801", "1*******01"),
        ("passport", "AB12345", "A*****5"),
        ("passport", "X1234", "****4"),
        ("passport", "P123456789ABCDEFG", "P**************FG"),
    ],
)
def test_passports_and_permits_show_at_most_a_third(id_type: str, number: str, masked: str) -> None:
    assert mask_document(id_type, number) == masked
    shown = sum(1 for character in masked if character != "*")
    assert len(masked) == len(number)
    assert shown <= max(len(number) / 3, 1)


def test_phone_keeps_first_three_and_last_four() -> None:
    assert mask_phone("13800138000") == "138****8000"


def test_email() -> None:
    assert mask_email("visitor@example.com") == "v***@example.com"
