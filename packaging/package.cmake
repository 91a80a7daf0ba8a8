# What `cmake --install` installs, and the Debian package built from it with
# `cpack -G DEB` in the build folder (scripts/package does both). Only sarge
# itself, its man page, its bash completion and two documents are
# installed: never the test binaries.
include(GNUInstallDirs)

set(SARGE_PACKAGE_MAINTAINER "sarge maintainers <root@localhost>"
    CACHE STRING "The Maintainer field of the Debian package")

# The man page and the completion are filled from the built sarge's command
# table, so they list exactly the commands and options it has.
set(SARGE_GENERATED_DOCS ${CMAKE_BINARY_DIR}/packaging)
add_custom_command(
  OUTPUT ${SARGE_GENERATED_DOCS}/sarge.1 ${SARGE_GENERATED_DOCS}/sarge.1.gz
         ${SARGE_GENERATED_DOCS}/sarge.bash-completion
  COMMAND ${CMAKE_COMMAND} -DSARGE=$<TARGET_FILE:sarge> -DVERSION=${PROJECT_VERSION}
          -DTEMPLATE_DIR=${CMAKE_SOURCE_DIR}/packaging
          -DOUTPUT_DIR=${SARGE_GENERATED_DOCS}
          -P ${CMAKE_SOURCE_DIR}/packaging/generate.cmake
  DEPENDS sarge ${CMAKE_SOURCE_DIR}/packaging/generate.cmake
          ${CMAKE_SOURCE_DIR}/packaging/sarge.1.in ${CMAKE_SOURCE_DIR}/packaging/bash-completion.in
  COMMENT "Generating the man page and the bash completion from sarge's command table")
add_custom_target(sarge_docs ALL DEPENDS ${SARGE_GENERATED_DOCS}/sarge.1.gz
                                         ${SARGE_GENERATED_DOCS}/sarge.bash-completion)

install(TARGETS sarge RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${SARGE_GENERATED_DOCS}/sarge.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${SARGE_GENERATED_DOCS}/sarge.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME sarge)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/configuration.md
              ${CMAKE_SOURCE_DIR}/docs/security.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sarge)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${SARGE_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "deploy applications on this server under supervisord, behind nginx")
string(CONCAT CPACK_PACKAGE_DESCRIPTION  # the long description, as apt shows it
       "sarge keeps a home folder per deployment, creates application instances\n"
       "in it, runs them under supervisord and points nginx at the instance that\n"
       "should get the traffic. A new version rolls out with no failed request:\n"
       "create an instance, start it, check it, switch the front end to it,\n"
       "retire the old one.")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # sarge_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SARGE_PACKAGE_MAINTAINER}")
# libc (and, in a build without SARGE_STATIC_DEPS, the shared libraries) as
# dpkg-shlibdeps finds them, plus supervisord, which sarge cannot work without.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS supervisor)
# The front end is optional (instances run without it). Debian 12's
# nginx-light and nginx-full depend on nginx, so this is satisfied by any of
# them.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS nginx)
include(CPack)
