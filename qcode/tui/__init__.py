"""Full-screen terminal interfaces (textual). Imported only by the commands that open them."""
