"""Refusals map to LiveOps error codes, statuses and envelopes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from liveops_rules import (
    Coupon,
    ErrorCode,
    User,
    ValidationError,
    ValidityWindow,
    error_code_for,
    error_envelope,
    evaluate,
    load_promotion,
    validation_envelope,
)
from liveops_rules.error_catalog import REASON_CODES

AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (9807, 404),
        (9811, 404),
        (9802, 404),
        (9803, 422),
        (9804, 422),
        (9808, 422),
        (9810, 422),
        (1102, 422),
        (4509, 422),
        (4511, 422),
    ],
)
def test_every_code_has_its_liveops_status(code, status):
    assert ErrorCode(code).status == status


def test_envelopes_read_as_liveops_writes_them():
    assert error_envelope(ErrorCode.LIMIT_REACHED, transaction_id="t-1") == {
        "statusCode": 422,
        "errorCode": 9804,
        "errorMessage": "[0401-9804]: You have reached the coupon redemption limit.",
        "transactionId": "t-1",
    }
    # The live servers' wording (the reference pages once said "Enter valid coupon code.").
    assert error_envelope(ErrorCode.INVALID_CODE, kind="promocode")["errorMessage"] == (
        "[0401-9807]: Enter a valid promo code."
    )
    assert error_envelope(ErrorCode.INVALID_CODE)["errorMessage"] == (
        "[0401-9807]: Enter a valid coupon code."
    )
    assert error_envelope(ErrorCode.PROMOTION_NOT_FOUND)["errorMessage"] == (
        "[0401-9802]: Coupon not found"
    )
    assert "transactionId" not in error_envelope(ErrorCode.EXPIRED)


def test_evaluator_reasons_map_to_codes():
    ended = Coupon(
        external_id="c",
        enabled=True,
        window=ValidityWindow(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
    )
    (reason,) = evaluate(ended, User("u"), AT).reasons
    assert error_code_for(reason) is ErrorCode.EXPIRED
    (disabled,) = evaluate(Coupon(external_id="d"), User("u"), AT).reasons
    assert error_code_for(disabled) is ErrorCode.INVALID_CODE
    assert error_code_for("limit_reached") is ErrorCode.LIMIT_REACHED
    assert error_code_for("unknown_code") is ErrorCode.CODE_NOT_FOUND
    assert error_code_for("code_exists") is ErrorCode.CODE_ALREADY_EXISTS
    assert all(isinstance(error_code_for(code), ErrorCode) for code in REASON_CODES)
    with pytest.raises(ValidationError):
        error_code_for("no_such_reason")


def test_validation_errors_become_1102_with_every_problem():
    with pytest.raises(ValidationError) as caught:
        load_promotion("coupon", {"name": {}, "redeem_user_limit": 0})
    envelope = validation_envelope(caught.value)
    assert envelope["statusCode"] == 422
    assert envelope["errorCode"] == 1102
    assert str(envelope["errorMessage"]).startswith("[0401-1102]: Unprocessable Entity. $.")
    assert len(envelope["errorMessageExtended"]) == len(caught.value.problems)  # type: ignore[arg-type]


def test_a_malformed_code_is_refused_in_the_live_wording():
    from datetime import UTC, datetime

    from liveops_rules import Accounting, User, open_store

    refusal = (
        Accounting(open_store("memory://"))
        .redeem("no pe", User("u"), datetime(2026, 1, 1, tzinfo=UTC))
        .refusal
    )
    assert refusal is not None
    assert (refusal.code, refusal.message) == ("malformed_code", "Enter a valid coupon code.")
