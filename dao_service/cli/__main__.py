from dao_service.cli import main

main()
