"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters: registration authority (1), organisation category (1), administrative division code
(6, GB/T 2260), organisation code (9, GB 11714), check character (1). The character set is the
digits and 21 capital letters (no I, O, Z, S, V); the check character makes the weighted sum
(weights 3**i mod 31) a multiple of 31.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28


class UsccError(ValueError):
    def __init__(self, rule: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.rule, self.message_zh, self.message_en = rule, message_zh, message_en


def check_character(first17: str) -> str:
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def validate(value) -> str:
    """Return the normalised code or raise UsccError naming what is wrong."""
    code = "" if value is None else str(value).strip().upper().replace(" ", "")
    if len(code) != 18:
        raise UsccError(
            "uscc.length",
            f"统一社会信用代码应为 18 位，实际为 {len(code)} 位：'{code}'",
            f"unified social credit code must have 18 characters, got {len(code)}: '{code}'",
        )
    bad = [ch for ch in code if ch not in CHARSET]
    if bad:
        raise UsccError(
            "uscc.charset",
            f"统一社会信用代码含非法字符 {''.join(bad)}（不使用 I、O、Z、S、V）",
            f"unified social credit code has characters outside GB 32100's set: {''.join(bad)} "
            "(I, O, Z, S, V are not used)",
        )
    division = code[2:8]
    if not division.isdigit():
        raise UsccError(
            "uscc.division",
            f"第 3-8 位应为行政区划代码，实际为 '{division}'",
            f"characters 3-8 must be an administrative division code (GB/T 2260), got '{division}'",
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise UsccError(
            "uscc.check_character",
            f"校验位错误：应为 '{expected}'，实际为 '{code[17]}'",
            f"check character is '{code[17]}', GB 32100 gives '{expected}' for the first 17 characters",
        )
    return code
