from bcecli.cli import main

main()
