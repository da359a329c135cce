"""Deterministic builders for course assets that no package ships ready to use."""
