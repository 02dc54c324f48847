"""Fixes named in error messages: "did you mean" for keyword arguments. [leaf: stdlib]"""
import difflib

# tf.keras 1/2 and other spellings that Keras renamed: old name -> the name to use.
LEGACY_KWARGS = {
    "nb_epoch": "epochs", "nb_epochs": "epochs", "epoch": "epochs", "n_epochs": "epochs",
    "num_epochs": "epochs", "samples_per_epoch": "steps_per_epoch",
    "nb_val_samples": "validation_steps", "batchsize": "batch_size",
    "val_data": "validation_data", "lr": "learning_rate", "metric": "metrics",
    "losses": "loss", "verbosity": "verbose",
}


def unexpected_kwargs(where, unknown, accepted):
    """A TypeError for `where()`'s unknown keyword arguments, each with its likely fix."""
    parts = []
    for name in sorted(unknown):
        fix = LEGACY_KWARGS.get(name)
        if fix is None or fix not in accepted:
            close = difflib.get_close_matches(name, sorted(accepted), n=1, cutoff=0.75)
            fix = close[0] if close else None
        parts.append(f"'{name}' (did you mean `{fix}`?)" if fix else f"'{name}'")
    return TypeError(f"{where}(): unexpected keyword argument(s) {', '.join(parts)}. "
                     f"Accepted: {', '.join(sorted(accepted))}.")
