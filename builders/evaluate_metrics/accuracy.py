"""accuracy, as evaluate's canonical metric computes it: the share of predictions equal to the
references (scikit-learn's accuracy_score). Baked into evaluate's module cache by
builders/evaluate_metrics.py, so `evaluate.load("accuracy")` works offline."""

import datasets
import evaluate
from sklearn.metrics import accuracy_score


class Accuracy(evaluate.Metric):
    def _info(self):
        label = datasets.Value("int32")
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions, references: labels (lists of labels with config 'multilabel')",
            features=datasets.Features(
                {"predictions": datasets.Sequence(label), "references": datasets.Sequence(label)}
                if self.config_name == "multilabel"
                else {"predictions": label, "references": label}
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.accuracy_score.html"
            ],
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        score = accuracy_score(references, predictions, normalize=normalize, sample_weight=sample_weight)
        return {"accuracy": float(score)}
