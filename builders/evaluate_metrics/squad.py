"""squad, as evaluate's canonical metric computes it (the official SQuAD v1.1 script): exact match
and token F1, in percent, each prediction against its best reference answer after normalising
(lowercase, no punctuation, no articles, single spaces). Baked into evaluate's module cache by
builders/evaluate_metrics.py, so `evaluate.load("squad")` works offline."""

import re
import string
from collections import Counter

import datasets
import evaluate


def normalize_answer(s):
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", s).split())


def f1_score(prediction, ground_truth):
    pred, truth = normalize_answer(prediction).split(), normalize_answer(ground_truth).split()
    same = sum((Counter(pred) & Counter(truth)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(truth)
    return 2 * precision * recall / (precision + recall)


def exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


class Squad(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description=(
                "predictions: [{'id', 'prediction_text'}]; references: [{'id', 'answers': {'text': [...], "
                "'answer_start': [...]}}]"
            ),
            features=datasets.Features(
                {
                    "predictions": {
                        "id": datasets.Value("string"),
                        "prediction_text": datasets.Value("string"),
                    },
                    "references": {
                        "id": datasets.Value("string"),
                        "answers": datasets.features.Sequence(
                            {"text": datasets.Value("string"), "answer_start": datasets.Value("int32")}
                        ),
                    },
                }
            ),
            reference_urls=["https://rajpurkar.github.io/SQuAD-explorer/"],
        )

    def _compute(self, predictions, references):
        answers = {p["id"]: p["prediction_text"] for p in predictions}
        exact = f1 = 0.0
        for ref in references:
            prediction, truths = answers[ref["id"]], ref["answers"]["text"]
            exact += max(exact_match_score(prediction, t) for t in truths)
            f1 += max(f1_score(prediction, t) for t in truths)
        return {"exact_match": 100.0 * exact / len(references), "f1": 100.0 * f1 / len(references)}
