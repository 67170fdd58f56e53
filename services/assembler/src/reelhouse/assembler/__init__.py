"""The assembler: joins a composition's stored scenes (and its score) into one film."""
