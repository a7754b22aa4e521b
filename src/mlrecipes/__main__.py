from mlrecipes.cli import main

main()
