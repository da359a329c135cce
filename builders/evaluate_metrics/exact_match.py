"""exact_match, as evaluate's canonical metric computes it: the share (0 to 1) of predictions equal
to their reference, optionally ignoring case, punctuation, digits or regexes first. Baked into
evaluate's module cache by builders/evaluate_metrics.py, so `evaluate.load("exact_match")` works
offline."""

import re
import string

import datasets
import evaluate
import numpy as np


class ExactMatch(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions, references: strings",
            features=datasets.Features(
                {
                    "predictions": datasets.Value("string", id="sequence"),
                    "references": datasets.Value("string", id="sequence"),
                }
            ),
            reference_urls=[],
        )

    def _compute(
        self,
        predictions,
        references,
        regexes_to_ignore=None,
        ignore_case=False,
        ignore_punctuation=False,
        ignore_numbers=False,
    ):
        predictions, references = np.asarray(predictions), np.asarray(references)
        for pattern in regexes_to_ignore or []:
            predictions = np.array([re.sub(pattern, "", x) for x in predictions])
            references = np.array([re.sub(pattern, "", x) for x in references])
        if ignore_case:
            predictions, references = np.char.lower(predictions), np.char.lower(references)
        if ignore_punctuation:
            table = string.punctuation.maketrans("", "", string.punctuation)
            predictions, references = (
                np.char.translate(predictions, table),
                np.char.translate(references, table),
            )
        if ignore_numbers:
            table = string.digits.maketrans("", "", string.digits)
            predictions, references = (
                np.char.translate(predictions, table),
                np.char.translate(references, table),
            )
        return {"exact_match": float(np.mean(predictions == references))}
