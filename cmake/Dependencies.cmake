# cnnmem_require(NAME DEBIAN_PACKAGE [find_package arguments...])
# Finds a dependency quietly; when it is missing, stops the configure with one line that names the
# Debian package to install (scripts/install-deps.sh installs them all), instead of CMake's page
# about CMAKE_PREFIX_PATH.
macro(cnnmem_require name debian_package)
  find_package(${name} QUIET ${ARGN})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR
      "cnnmem: ${name} not found: install Debian's ${debian_package} "
      "(apt-get install ${debian_package}, or scripts/install-deps.sh as root)")
  endif()
endmacro()

# Debian builds oneDNN with the OpenCL GPU runtime, so its dnnl-config.cmake calls
# find_package(OpenCL REQUIRED): OpenCL's ICD loader and headers must be there before dnnl is
# looked for (libdnnl-dev only recommends them).
macro(cnnmem_require_dnnl)
  cnnmem_require(OpenCL ocl-icd-opencl-dev)
  cnnmem_require(dnnl libdnnl-dev)
endmacro()

# The image codecs of io/image_decode.cpp: libpng (CMake's FindPNG, target PNG::PNG) and TurboJPEG,
# which ships only a pkg-config file (libturbojpeg.pc): it becomes the target cnnmem::turbojpeg.
macro(cnnmem_require_image_codecs)
  cnnmem_require(PNG libpng-dev)
  cnnmem_require(PkgConfig pkg-config)
  pkg_check_modules(CNNMEM_TURBOJPEG QUIET IMPORTED_TARGET GLOBAL libturbojpeg)
  if(NOT CNNMEM_TURBOJPEG_FOUND)
    message(FATAL_ERROR
      "cnnmem: TurboJPEG not found: install Debian's libturbojpeg0-dev "
      "(apt-get install libturbojpeg0-dev, or scripts/install-deps.sh as root)")
  endif()
  if(NOT TARGET cnnmem::turbojpeg)
    add_library(cnnmem::turbojpeg ALIAS PkgConfig::CNNMEM_TURBOJPEG)
  endif()
endmacro()
