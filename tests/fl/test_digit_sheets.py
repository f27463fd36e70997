"""Digit sheets: the image form of labelled digits a data owner encrypts."""

from __future__ import annotations

import numpy as np
import pytest

from clients.fl import DatasetError, load_digits_data, read_sheet, render_sheet


def test_digit_sheet_round_trips_exactly() -> None:
    digits = load_digits_data()
    sample = digits.subset(np.arange(0, 100, 3))  # 34 digits: a partly filled last row of tiles
    back = read_sheet(render_sheet(sample, columns=8))
    assert np.array_equal(back.x, sample.x) and np.array_equal(back.y, sample.y)


def test_sheet_refuses_non_digit_samples() -> None:
    digits = load_digits_data()
    scaled = type(digits)(digits.x[:4] * 0.37, digits.y[:4], 10, digits.class_names)
    with pytest.raises(DatasetError, match="digit levels"):
        render_sheet(scaled)


@pytest.mark.parametrize("damage", ["label", "pixel", "shape", "empty"])
def test_damaged_sheet_is_refused(damage: str) -> None:
    sheet = render_sheet(load_digits_data().subset(np.arange(5)), columns=4)
    if damage == "label":
        sheet[8, 0:8] = 250  # label 10 of ten classes
    elif damage == "pixel":
        sheet[0, 0] = 7  # not a multiple of 15
    elif damage == "shape":
        sheet = sheet[:-1]
    else:
        sheet[:] = 255
    with pytest.raises(DatasetError):
        read_sheet(sheet)
