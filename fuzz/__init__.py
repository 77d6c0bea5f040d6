"""Coverage-guided fuzzing of bee's parsers: the targets (`fuzz.targets`), their driver (`python -m fuzz.run`),
the committed seed corpus (`corpus/`) and the inputs that once broke a target (`regressions/`). See fuzz/README.md."""
