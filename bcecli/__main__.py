from bcecli import main

main()
