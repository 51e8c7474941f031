import pytest

from reservations.privacy.masking import mask_document, mask_email, mask_name, mask_phone


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


def test_documents_keep_first_and_last_four() -> None:
    assert mask_document("410105199005171234") == "4101**********1234"
    assert mask_document("11010519491231002X") == "1101**********002X"
    assert mask_document("E12345678") == "E123*5678"


def test_phone_keeps_first_three_and_last_four() -> None:
    assert mask_phone("13800138000") == "138****8000"


def test_email() -> None:
    assert mask_email("visitor@example.com") == "v***@example.com"
