// main() arrives with the CLI.
int main() { return 0; }
