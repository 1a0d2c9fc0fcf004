"""The Textual approval inbox. The only package that imports textual."""
